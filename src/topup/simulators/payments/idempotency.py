"""Stripe's idempotency semantics for the sandbox's write endpoints.

Same key + same endpoint + same JSON body replays the first successful answer; the same key with
another body or endpoint is a 409 `idempotency_error`. Only successful answers are stored (as Stripe
does for requests refused by validation), so a refused request may be retried with the same key.
Answers are kept as the bytes sent and forgotten after 24 hours, as Stripe does, to bound memory.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from topup.simulators.payments.state import SimulatorError


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    fingerprint: bytes
    status: int
    body: bytes  # the JSON sent the first time
    stored_at: float


def fingerprint(scope: str, body: object) -> bytes:
    """A digest of the endpoint and the body, insensitive to key order and whitespace."""
    canonical = json.dumps([scope, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).digest()


class IdempotencyStore:
    """Answers stored by idempotency key; one dict lookup per request."""

    def __init__(self, ttl_s: float = 24 * 3600, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._answers: dict[str, StoredAnswer] = {}  # insertion order is age order

    def replay(self, key: str | None, scope: str, body: object) -> StoredAnswer | None:
        """The stored answer for `key`, None when the key is new; raises on a reused key."""
        if not key:
            return None
        stored = self._answers.get(key)
        if stored is None:
            return None
        if stored.fingerprint != fingerprint(scope, body):
            raise SimulatorError(
                409,
                "idempotency_error",
                "idempotency_key_reused",
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with.",
            )
        return stored

    def save(self, key: str | None, scope: str, body: object, status: int, answer: bytes) -> None:
        if not key:
            return
        now = self._clock()
        self._answers[key] = StoredAnswer(fingerprint(scope, body), status, answer, now)
        self._forget_before(now - self._ttl_s)

    def _forget_before(self, cutoff: float) -> None:
        while self._answers:
            oldest_key = next(iter(self._answers))
            if self._answers[oldest_key].stored_at >= cutoff:
                return
            del self._answers[oldest_key]
