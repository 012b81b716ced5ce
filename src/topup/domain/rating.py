"""Batch rating for the usage API: the rules of `topup.domain.usage`, on mutable per-bundle counters.

`rate_batch` in `domain/usage.py` is the reference: it builds a frozen `Rating` and a new `Bundle` for every
draw, ~13 µs a record. `rate_lines` applies the same rules (same bundle order, same activation of pending
bundles, overage refused) but keeps one mutable counter per bundle and one (drawn, refused) pair per record,
and builds each changed `Bundle` once at the end. Threshold events are computed per bundle from its usage
before and after the whole batch: a threshold crossed by some record of the batch is exactly one crossed
between the batch's first and last usage, since usage only grows. A property test checks the two agree.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from topup.domain.bundles import Bundle, BundleStatus, activate_on_first_use, crossed_thresholds


@dataclass(slots=True)
class _Counter:
    """One bundle while a batch is rated: what is used so far, and its validity in UTC."""

    bundle: Bundle
    used_kb: int
    cap_kb: int
    starts_at: datetime
    expires_at: datetime
    key: tuple[datetime, datetime, str]  # drawing priority: soonest expiry, earlier purchase, id

    @classmethod
    def of(cls, bundle: Bundle) -> _Counter:
        assert bundle.starts_at is not None
        assert bundle.expires_at is not None
        expires_at = bundle.expires_at.astimezone(UTC)
        return cls(
            bundle, bundle.used_kb, bundle.cap_kb, bundle.starts_at.astimezone(UTC), expires_at,
            (expires_at, bundle.purchased_at, bundle.id),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BatchRating:
    """What `rate_lines` decided.

    `drawn_kb[i]` and `refused_kb[i]` belong to the i-th record given; `bundles` holds each changed bundle
    once, in its state after the batch; `activated` the ids of pending bundles this batch activated;
    `threshold_events` (line id, bundle id, percent) in line order, each bundle's percents ascending.
    """

    drawn_kb: list[int]
    refused_kb: list[int]
    bundles: list[Bundle]
    activated: list[str]
    threshold_events: list[tuple[str, str, int]]


def _utc(at: datetime) -> datetime:
    # Comparing datetimes that share one tzinfo object skips two utcoffset() calls per comparison.
    return at if at.tzinfo is UTC else at.astimezone(UTC)


class _Line:
    """A line's live (active) counters sorted by priority, from `head` on, and its pending bundles."""

    __slots__ = ("activated", "head", "live", "pending", "touched")

    def __init__(self, bundles: Sequence[Bundle]) -> None:
        self.live = sorted(
            (_Counter.of(b) for b in bundles if b.status == BundleStatus.ACTIVE), key=lambda c: c.key
        )
        self.pending = sorted(
            (b for b in bundles if b.status == BundleStatus.PENDING), key=lambda b: (b.purchased_at, b.id)
        )
        self.head = 0
        self.touched: dict[str, _Counter] = {}
        self.activated: list[str] = []

    def draw(self, kb: int, at: datetime) -> int:
        """Draw `kb` at `at` from the live counters, then from pending bundles; the kB left undrawn."""
        live = self.live
        i = self.head
        while kb and i < len(live):
            counter = live[i]
            dead = counter.expires_at <= at or counter.used_kb >= counter.cap_kb
            if not dead and counter.starts_at <= at:
                amount = min(kb, counter.cap_kb - counter.used_kb)
                counter.used_kb += amount
                kb -= amount
                self.touched[counter.bundle.id] = counter
                dead = counter.used_kb >= counter.cap_kb
            if dead and i == self.head:
                self.head += 1
            i += 1
        while kb and self.pending and self.pending[0].purchased_at <= at:
            counter = _Counter.of(activate_on_first_use(self.pending.pop(0), at))
            self.activated.append(counter.bundle.id)
            amount = min(kb, counter.cap_kb - counter.used_kb)
            counter.used_kb += amount
            kb -= amount
            self.touched[counter.bundle.id] = counter
            if counter.used_kb < counter.cap_kb:
                insort(live, counter, lo=self.head, key=lambda c: c.key)
        return kb


def _after(counter: _Counter) -> Bundle:
    bundle = counter.bundle
    status = BundleStatus.EXHAUSTED if counter.used_kb == counter.cap_kb else bundle.status
    return replace(bundle, used_kb=counter.used_kb, status=status)


def rate_lines(
    records_by_line: Mapping[str, Sequence[tuple[datetime, str, int, int]]],
    bundles_by_line: Mapping[str, Sequence[Bundle]],
    n_records: int,
) -> BatchRating:
    """Rate records given per line as (start, record id, kB, index) with unique ids; overage is refused.

    Each line's records are drawn in (start, id) order, as `rate_batch` does; `index` (0..n_records-1)
    says where each record's outcome goes in the answer.
    """
    drawn = [0] * n_records
    refused = [0] * n_records
    bundles: list[Bundle] = []
    activated: list[str] = []
    events: list[tuple[str, str, int]] = []
    for line_id in sorted(records_by_line):
        line_bundles = bundles_by_line.get(line_id, ())
        records = sorted(records_by_line[line_id])
        if not line_bundles:
            for _, _, kb, index in records:
                refused[index] = kb
            continue
        line = _Line(line_bundles)
        for start, _, kb, index in records:
            left = line.draw(kb, _utc(start)) if kb else 0
            drawn[index] = kb - left
            refused[index] = left
        activated.extend(line.activated)
        for counter in line.touched.values():
            after = _after(counter)
            bundles.append(after)
            before = counter.bundle.used_kb
            crossed = crossed_thresholds(before, after.used_kb, after.cap_kb)
            events.extend((line_id, after.id, percent) for percent in crossed)
    return BatchRating(drawn, refused, bundles, activated, events)
