"""Stripe's idempotency semantics for every `POST` of the simulated API.

The first request with an `Idempotency-Key` reserves the key while it runs; its answer, errors included
(Stripe stores the result once execution has begun), is then stored with a fingerprint of the endpoint
and the parameters:
- the same key and the same parameters replay the stored answer, with `Idempotent-Replayed: true`;
- the same key with other parameters or another endpoint is a 400 `idempotency_error`;
- the same key while the first request still runs is a 409 (`idempotency_key_in_use`): try again later.
Answers of injected faults (500) are not stored, as Stripe does not store a request that never ran.
Keys are forgotten after 24 hours, as Stripe prunes them. With a state file the stored answers are written
through to it and loaded back at start, so that a request resumed after a restart replays its first answer
instead of making a second object (the 24 hours are wall-clock time, across restarts). The server is one
asyncio loop: each method runs without interruption, so the reservation needs no lock.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from topup.simulators.payments.errors import SimulatorError


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    fingerprint: bytes
    status: int
    body: bytes  # the JSON sent the first time
    stored_at: float


class AnswerKeeping(Protocol):
    """Where the stored answers outlive the process (the state file's store)."""

    def save_answer(self, key: str, answer: StoredAnswer) -> None: ...
    def forget_answers_before(self, cutoff: float) -> None: ...
    def answers(self) -> Iterable[tuple[str, StoredAnswer]]: ...


def fingerprint(scope: str, params: object) -> bytes:
    """A digest of the endpoint and the parameters, insensitive to their order."""
    canonical = json.dumps([scope, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).digest()


class IdempotencyStore:
    """Answers stored by idempotency key, and the keys whose first request is still running."""

    def __init__(
        self,
        ttl_s: float = 24 * 3600,
        clock: Callable[[], float] = time.time,
        keeping: AnswerKeeping | None = None,
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._keeping = keeping
        self._answers: dict[str, StoredAnswer] = {}  # insertion order is age order
        self._running: set[str] = set()
        if keeping is not None:
            cutoff = clock() - ttl_s
            self._answers = {key: answer for key, answer in keeping.answers() if answer.stored_at >= cutoff}

    def begin(self, key: str | None, scope: str, params: object) -> StoredAnswer | None:
        """The stored answer to replay, or None after reserving a new key; raises on misuse."""
        if not key:
            return None
        if key in self._running:
            raise SimulatorError(
                409, "invalid_request_error", "idempotency_key_in_use",
                "There is currently another in-progress request using this idempotency key. "
                "Please try again later.",
            )  # fmt: skip
        stored = self._answers.get(key)
        if stored is None:
            self._running.add(key)
            return None
        if stored.fingerprint != fingerprint(scope, params):
            raise SimulatorError(
                400, "idempotency_error", None,
                f"Keys for idempotent requests can only be used with the same parameters they were first "
                f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
            )  # fmt: skip
        return stored

    def finish(self, key: str | None, scope: str, params: object, status: int, answer: bytes) -> None:
        if not key:
            return
        self._running.discard(key)
        now = self._clock()
        stored = StoredAnswer(fingerprint(scope, params), status, answer, now)
        self._answers[key] = stored
        if self._keeping is not None:
            self._keeping.save_answer(key, stored)
        self._forget_before(now - self._ttl_s)

    def abandon(self, key: str | None) -> None:
        """The request never ran (an injected fault): the key is free again."""
        if key:
            self._running.discard(key)

    def _forget_before(self, cutoff: float) -> None:
        forgotten = False
        while self._answers:
            oldest_key = next(iter(self._answers))
            if self._answers[oldest_key].stored_at >= cutoff:
                break
            del self._answers[oldest_key]
            forgotten = True
        if forgotten and self._keeping is not None:
            self._keeping.forget_answers_before(cutoff)
