"""The system clock and id generator: the only places where time and randomness enter Topup."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from topup.domain.ids import format_id

BRUSSELS = ZoneInfo("Europe/Brussels")  # customers read times, and business days are counted, here


def now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A prefixed, time-ordered id (ULID body), generated before the write that saves it."""
    return format_id(prefix, time.time_ns() // 1_000_000, secrets.randbits(80))
