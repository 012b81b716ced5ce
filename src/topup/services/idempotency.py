"""Idempotent writes: the key, a hash of the request and the first answer are saved with the effect."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from topup.db.models import IdempotencyRecord
from topup.domain.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255


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


def replay(idem: IdempotencyKey) -> StoredResponse | None:
    """The stored answer for this key, or None for a new key; another body under the key is a conflict."""
    record = IdempotencyRecord.objects.filter(scope=idem.scope, key=idem.key).first()
    if record is None:
        return None
    if record.request_hash != idem.request_hash:
        raise Conflict(
            "this Idempotency-Key was used with a different request",
            code="idempotency_conflict",
            field="Idempotency-Key",
        )
    return StoredResponse(record.response_status, record.response_body)


def remember(idem: IdempotencyKey, status: int, body: dict[str, object], at: datetime) -> StoredResponse:
    """Store the answer of a write that committed on its own; a concurrent twin's answer wins."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                scope=idem.scope, key=idem.key, request_hash=idem.request_hash,
                response_status=status, response_body=body, created_at=at,
            )  # fmt: skip
    except IntegrityError:
        stored = replay(idem)
        if stored is not None:
            return stored
        raise
    return StoredResponse(status, body)
