"""Idempotent writes: the key, a hash of the request and the first answer are saved with the effect.

Keys are scoped by endpoint and caller, so two callers' keys never meet. A write that calls an outside
party first *claims* its key: the record is committed `in_progress` with the ids the write will use,
before the outside call, so that a concurrent twin never makes a second call and a retry after a crash
makes the same call again (the payment id is the provider's idempotency key). A twin finding the claim
in progress waits up to `CLAIM_WAIT_S` for the answer and replays it, else answers 409
`idempotency_in_progress` (Stripe does the same); a claim older than `CLAIM_STALE_S` belongs to a crashed
or failed attempt and is taken over, with the same ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction

from topup.clock import new_id, now
from topup.db import hot_sql
from topup.db.failover import forget_connections, is_failover_error
from topup.db.models import IdempotencyRecord
from topup.domain.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255
IN_PROGRESS, DONE = "in_progress", "done"
CLAIM_WAIT_S = 10.0  # how long a twin waits for the first attempt's answer (the provider's timeout)
CLAIM_STALE_S = 30.0  # a claim this old is an attempt that crashed: the next request resumes it

# Set when the current request looked up or claimed its key before any effect (see `mark_retry_safe`).
_RETRY_SAFE: ContextVar[bool] = ContextVar("topup_idempotency_retry_safe", default=False)


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str  # the endpoint and the caller, so that two clients' keys never collide
    key: str
    request_hash: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, object]


def make_key(scope: str, key: str | None, request: object) -> IdempotencyKey:
    if not key:
        raise InvalidInput(
            "this request needs an Idempotency-Key header",
            code="idempotency_key_required",
            field="Idempotency-Key",
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            "the Idempotency-Key is too long", code="invalid_idempotency_key", field="Idempotency-Key"
        )
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return IdempotencyKey(scope, key, hashlib.sha256(canonical.encode()).hexdigest())


@dataclass(frozen=True)
class Claim:
    """The right to perform the write for this key, with the ids chosen when the key was first claimed."""

    order_id: str
    payment_id: str
    resumed: bool  # True when an earlier attempt claimed the key and did not finish
    frozen: dict[str, object] = field(default_factory=dict)  # what the first attempt claimed with


def scoped(endpoint: str, caller: str) -> str:
    """The scope of a key: the endpoint and who calls it (`key:<api key id>`, `ip:<hash>`, `web:<hash>`)."""
    return f"{endpoint}:{caller}"


def _checked(record: IdempotencyRecord, idem: IdempotencyKey) -> IdempotencyRecord:
    if record.request_hash != idem.request_hash:
        raise Conflict(
            "this Idempotency-Key was used with a different request",
            code="idempotency_conflict",
            field="Idempotency-Key",
        )
    return record


def _record(idem: IdempotencyKey) -> IdempotencyRecord | None:
    """The key's record: (scope, key) is unique, so no ORDER BY (`.first()` would add one)."""
    found = list(IdempotencyRecord.objects.filter(scope=idem.scope, key=idem.key)[:1])
    return found[0] if found else None


@contextlib.contextmanager
def retry_scope() -> Iterator[None]:
    """One request's span (the failover middleware's): nothing is marked safe to run again yet."""
    token = _RETRY_SAFE.set(False)
    try:
        yield
    finally:
        _RETRY_SAFE.reset(token)


def mark_retry_safe() -> None:
    """This request keeps its key's discipline: it looks the key up (`replay`) or claims it (`claim`) before
    any effect, and saves its answer with the effect (`complete`, `store_answer`), so that running it again
    (the server's retry after a failover) replays the answer or resumes the claim. Called by those two."""
    _RETRY_SAFE.set(True)


def retry_is_marked_safe() -> bool:
    return _RETRY_SAFE.get()


def replay(idem: IdempotencyKey) -> StoredResponse | None:
    """The stored answer for this key, or None for a new (or unfinished) key; another body is a conflict.
    Only for writes that save their answer with their effect (see `mark_retry_safe`)."""
    mark_retry_safe()
    record = _record(idem)
    if record is None or _checked(record, idem).state != DONE:
        return None
    return StoredResponse(record.response_status, record.response_body)


def claim(idem: IdempotencyKey, frozen: dict[str, object] | None = None) -> Claim | StoredResponse:
    """Claim the key (committed before any outside call), or the answer a finished twin gave. `frozen` is
    kept with a new claim; a resumed claim carries the first attempt's instead."""
    mark_retry_safe()
    deadline = time.monotonic() + CLAIM_WAIT_S
    pause = 0.02
    while True:
        taken = _claim_new(idem, frozen or {})  # the usual case, a new key: one INSERT, no read first
        if taken is not None:
            return taken
        record = _record(idem)
        if record is None:
            continue  # the twin that held it was deleted meanwhile: try again
        if _checked(record, idem).state == DONE:
            return StoredResponse(record.response_status, record.response_body)
        resumed = _resume_if_stale(record)
        if resumed is not None:
            return resumed
        if time.monotonic() >= deadline:
            raise Conflict(
                "a request with this Idempotency-Key is still in progress; retry in a moment",
                code="idempotency_in_progress",
                field="Idempotency-Key",
            )
        time.sleep(pause)
        pause = min(pause * 1.5, 0.25)


def _claim_new(idem: IdempotencyKey, frozen: dict[str, object]) -> Claim | None:
    at = now()
    order_id, payment_id = new_id("ord"), new_id("pay")
    record = IdempotencyRecord(
        scope=idem.scope, key=idem.key, request_hash=idem.request_hash, state=IN_PROGRESS,
        order_id=order_id, payment_id=payment_id, created_at=at, claimed_at=at, frozen=frozen,
    )  # fmt: skip
    if not hot_sql.insert_new(record):  # the key is taken (no savepoint, no error to catch)
        return None
    return Claim(order_id, payment_id, resumed=False, frozen=frozen)


def _resume_if_stale(record: IdempotencyRecord) -> Claim | None:
    """Take over a claim whose attempt crashed (old) or gave up (released); one taker wins the update."""
    at = now()
    if record.claimed_at is not None and record.claimed_at > at - timedelta(seconds=CLAIM_STALE_S):
        return None
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, state=IN_PROGRESS, claimed_at=record.claimed_at
    ).update(claimed_at=at)
    return Claim(record.order_id, record.payment_id, resumed=True, frozen=record.frozen) if taken else None


def release(idem: IdempotencyKey) -> None:
    """The attempt failed before saving anything: the next request with this key resumes the claim at once,
    with the same ids, so that a payment the provider did make is found again rather than made twice."""
    IdempotencyRecord.objects.filter(scope=idem.scope, key=idem.key, state=IN_PROGRESS).update(
        claimed_at=None
    )


@contextlib.contextmanager
def released_on_failover(idem: IdempotencyKey) -> Iterator[None]:
    """A claimed write that failed on a lost connection or a read-only server (a failover) gives its claim
    back over a new connection, so that the retry (the server's own, or the client's) resumes it at once
    with the same ids instead of answering `idempotency_in_progress` until the claim is stale. Where the
    database is still away the claim stays, and goes stale after CLAIM_STALE_S as for a crash."""
    try:
        yield
    except DatabaseError as exc:
        if is_failover_error(exc) and not transaction.get_connection().in_atomic_block:
            forget_connections()
            with contextlib.suppress(DatabaseError):
                release(idem)
        raise


def twin_answer(idem: IdempotencyKey) -> StoredResponse:
    """Call while handling the IntegrityError of saving a claimed write: a resumed twin (this attempt was
    thought crashed) saved it first, so answer what it answered; with no such answer, re-raise."""
    stored = replay(idem)
    if stored is None:
        raise  # noqa: PLE0704 - the IntegrityError being handled by the caller
    return stored


def complete(idem: IdempotencyKey, status: int, body: dict[str, object]) -> None:
    """Store the answer of a claimed key; call inside the transaction that saves the effect."""
    IdempotencyRecord.objects.filter(scope=idem.scope, key=idem.key).update(
        state=DONE, response_status=status, response_body=body
    )


def store_answer(idem: IdempotencyKey, status: int, body: dict[str, object], at: datetime) -> None:
    """Store the answer of a write that claims no key, inside the transaction of its effect (call it there),
    so that the answer exists exactly when the effect does: a resend, or the server's own retry after a lost
    connection, replays it. A twin that stored its answer first makes this write a conflict, rolled back with
    its effect (the caller replays the twin's answer)."""
    record = IdempotencyRecord(
        scope=idem.scope, key=idem.key, request_hash=idem.request_hash, state=DONE,
        response_status=status, response_body=body, created_at=at,
    )  # fmt: skip
    if not hot_sql.insert_new(record):
        raise Conflict(
            "a request with this Idempotency-Key was answered meanwhile",
            code="idempotency_in_progress",
            field="Idempotency-Key",
        )
