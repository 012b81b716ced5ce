"""The system clock and id generator: the only places where time and randomness enter Topup."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from topup.domain.ids import format_id

BRUSSELS = ZoneInfo("Europe/Brussels")  # customers read times, and business days are counted, here

# A test clock: while set, `now()` answers this instant everywhere (every caller imports `now` from here).
_fixed: list[datetime] = []


def now() -> datetime:
    return _fixed[-1] if _fixed else datetime.now(UTC)


def set_now(at: datetime | None) -> None:
    """Stop the clock at `at` (timezone-aware) for tests and simulations; None lets it run again."""
    if at is not None and at.tzinfo is None:
        raise ValueError("the test clock needs a timezone-aware instant")
    _fixed.clear()
    if at is not None:
        _fixed.append(at.astimezone(UTC))


@contextmanager
def frozen_at(at: datetime) -> Iterator[None]:
    """`with frozen_at(t):` the clock reads `t` inside the block and runs again after it."""
    set_now(at)
    try:
        yield
    finally:
        set_now(None)


def new_id(prefix: str) -> str:
    """A prefixed, time-ordered id (ULID body), generated before the write that saves it."""
    return format_id(prefix, time.time_ns() // 1_000_000, secrets.randbits(80))
