"""Atomic rate limits and counters on the `rate_counter` table, the same on SQLite and PostgreSQL.

Each hit is one conditional UPDATE on a row created by INSERT … ON CONFLICT DO NOTHING: the database
decides, so two requests can never both read "2 of 3" and both go on. Several limits are taken all or
none in one transaction, in key order (no deadlock on PostgreSQL). Keys carry blind indexes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Case, F, Q, Sum, Value, When

from topup.db.models import RateCounter


@dataclass(frozen=True)
class Limit:
    """At most `max_hits` hits of `key` in a window of `window_s` seconds opened by the first hit."""

    key: str
    max_hits: int
    window_s: float


def _ensure(keys: Sequence[str], at: datetime) -> None:
    RateCounter.objects.bulk_create(
        [RateCounter(key=key, window_start=at, count=0) for key in keys], ignore_conflicts=True
    )


def _hit(limit: Limit, at: datetime) -> bool:
    stale = Q(window_start__lte=at - timedelta(seconds=limit.window_s))
    return bool(
        RateCounter.objects.filter(Q(key=limit.key) & (stale | Q(count__lt=limit.max_hits))).update(
            count=Case(When(stale, then=Value(1)), default=F("count") + 1),
            window_start=Case(When(stale, then=Value(at)), default=F("window_start")),
        )
    )


def take(limits: Sequence[Limit], at: datetime) -> bool:
    """One hit on every limit, or (when any of them is full) on none of them: False."""
    ordered = sorted(limits, key=lambda limit: limit.key)
    with transaction.atomic():
        _ensure([limit.key for limit in ordered], at)
        for limit in ordered:
            if not _hit(limit, at):
                transaction.set_rollback(True)
                return False
    return True


def bucket_start(at: datetime, bucket_s: int) -> datetime:
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % bucket_s, UTC)


def count_in_ring(prefix: str, at: datetime, window_s: int, bucket_s: int = 60) -> None:
    """One more event in the current `bucket_s` bucket of a ring of buckets covering `window_s`."""
    start = bucket_start(at, bucket_s)
    slot = int(start.timestamp()) // bucket_s % (window_s // bucket_s + 1)
    key = f"{prefix}:{slot}"
    _ensure([key], start)
    current = Q(window_start=start)
    RateCounter.objects.filter(key=key).update(
        count=Case(When(current, then=F("count") + 1), default=Value(1)), window_start=Value(start)
    )


def ring_total(prefix: str, at: datetime, window_s: int, bucket_s: int = 60) -> int:
    """Events counted by `count_in_ring` in the buckets that started within the last `window_s`."""
    since = bucket_start(at, bucket_s) - timedelta(seconds=window_s - bucket_s)
    found = RateCounter.objects.filter(key__startswith=f"{prefix}:", window_start__gte=since)
    return int(found.aggregate(n=Sum("count"))["n"] or 0)


def bump(key: str, at: datetime) -> None:
    """A counter that only grows (for /metrics)."""
    _ensure([key], at)
    RateCounter.objects.filter(key=key).update(count=F("count") + 1)


def value(key: str) -> int:
    return int(RateCounter.objects.filter(key=key).values_list("count", flat=True).first() or 0)


def purge(before: datetime) -> int:
    """Delete windows that ended before `before` (call from the retention sweep); returns how many."""
    deleted, _ = (
        RateCounter.objects.filter(window_start__lt=before).exclude(key__startswith="total:").delete()
    )
    return int(deleted)
