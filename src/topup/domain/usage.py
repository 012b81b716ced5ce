"""Rating data usage on hosted lines: draw each usage record from the line's bundles, then overage.

Rules, in order, for a record of `kb` kB on a line, judged at `record.start`:
1. Active bundles valid at `record.start` are drawn soonest-expiring first (ties: earlier purchase, then id);
   an unlimited bundle is drawn against its fair-use cap.
2. If they do not cover the record, pending (on-first-use) bundles bought at or before `record.start` are
   activated at `record.start`, oldest purchase first, one at a time until the record is covered. A record of
   0 kB activates nothing.
3. What is left is overage: REFUSE refuses it; CHARGE_CREDIT buys it from the line's credit at a price per
   started MB (per record), and refuses what the credit cannot pay for: credit never goes below zero.
Conservation: drawn + charged + refused == record kB, always.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from topup.domain.bundles import (
    KB_PER_MB,
    Bundle,
    BundleStatus,
    activate_on_first_use,
    crossed_thresholds,
    require_aware,
)
from topup.domain.errors import Conflict, InvalidInput

BYTES_PER_KB = 1024


def oldest_start_accepted(at: datetime, retention_months: int) -> datetime | None:
    """The first instant a record may start at and still be rated: the first of the month `retention_months`
    before the month of `at` (UTC). Months before it may be detached from the usage table, where a resent
    record could no longer be found, so it would be rated again. None: months are never detached."""
    if retention_months <= 0:
        return None
    at = at.astimezone(UTC)
    index = at.year * 12 + at.month - 1 - retention_months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def kb_from_bytes(n: int) -> int:
    """Bytes to kB, rounded up: operators bill every started kilobyte (1 kB = 1024 bytes)."""
    if n < 0:
        raise InvalidInput(f"negative byte count {n}", code="invalid_usage_record", field="bytes")
    return -(-n // BYTES_PER_KB)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    id: str
    line_id: str
    kb: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not self.id or not self.line_id or self.kb < 0:
            raise InvalidInput(
                f"usage record {self.id!r}: needs ids and kb >= 0", code="invalid_usage_record"
            )
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end < self.start:
            raise InvalidInput(f"usage record {self.id}: ends before it starts", code="invalid_usage_record")


class OverageRule(StrEnum):
    REFUSE = "refuse"
    CHARGE_CREDIT = "charge_credit"  # price per started MB, in minor units


@dataclass(frozen=True, slots=True)
class Rating:
    """The outcome of one record. `updated_bundles` holds only the bundles this record changed."""

    record_id: str
    line_id: str
    drawdowns: tuple[tuple[str, int], ...]  # (bundle_id, kB), in drawing order
    activated: tuple[str, ...]
    charged_kb: int
    charged_minor: int
    refused_kb: int
    threshold_events: tuple[tuple[str, int], ...]  # (bundle_id, percent)
    updated_bundles: tuple[Bundle, ...]
    credit_minor_after: int
    rated_at: datetime

    @property
    def drawn_kb(self) -> int:
        return sum(kb for _, kb in self.drawdowns)


def _priority(bundle: Bundle) -> tuple[datetime, datetime, str]:
    assert bundle.expires_at is not None
    return bundle.expires_at, bundle.purchased_at, bundle.id


class _LineState:
    """A line's bundles while rating its records in start order.

    `live` holds the active bundles sorted by `_priority`; entries before `head` are dead for good (expired
    before the current record, or used up), so each record only looks at the live tail.
    """

    __slots__ = ("credit", "head", "live", "pending", "pending_head")

    def __init__(self, line_id: str, bundles: Iterable[Bundle], credit_minor: int) -> None:
        if credit_minor < 0:
            raise InvalidInput(
                f"line {line_id}: negative credit", code="invalid_credit", field="credit_minor"
            )
        live: list[Bundle] = []
        pending: list[Bundle] = []
        for bundle in bundles:
            if bundle.line_id != line_id:
                raise InvalidInput(
                    f"bundle {bundle.id} is not on line {line_id}", code="bundle_line_mismatch"
                )
            if bundle.status == BundleStatus.ACTIVE:
                live.append(bundle)
            elif bundle.status == BundleStatus.PENDING:
                pending.append(bundle)
        live.sort(key=_priority)
        pending.sort(key=lambda b: (b.purchased_at, b.id))
        self.live = live
        self.head = 0
        self.pending = pending
        self.pending_head = 0
        self.credit = credit_minor


class _Draw:
    """Mutable accumulator for one record (kept out of the frozen Rating until the end)."""

    __slots__ = ("activated", "drawdowns", "events", "needed", "updated")

    def __init__(self, needed: int) -> None:
        self.needed = needed
        self.drawdowns: list[tuple[str, int]] = []
        self.activated: list[str] = []
        self.events: list[tuple[str, int]] = []
        self.updated: list[Bundle] = []

    def take(self, bundle: Bundle) -> Bundle:
        amount = min(self.needed, bundle.remaining_kb)
        used = bundle.used_kb + amount
        status = BundleStatus.EXHAUSTED if used == bundle.cap_kb else bundle.status
        drawn = replace(bundle, used_kb=used, status=status)
        self.needed -= amount
        self.drawdowns.append((bundle.id, amount))
        self.events.extend((bundle.id, p) for p in crossed_thresholds(bundle.used_kb, used, bundle.cap_kb))
        self.updated.append(drawn)
        return drawn


def _draw_active(state: _LineState, draw: _Draw, at: datetime) -> None:
    live = state.live
    i = state.head
    while draw.needed and i < len(live):
        bundle = live[i]
        assert bundle.starts_at is not None
        assert bundle.expires_at is not None
        dead = bundle.expires_at <= at or bundle.used_kb >= bundle.cap_kb
        if not dead and bundle.starts_at <= at:
            bundle = live[i] = draw.take(bundle)
            dead = bundle.used_kb >= bundle.cap_kb
        if dead and i == state.head:
            state.head += 1
        i += 1


def _draw_pending(state: _LineState, draw: _Draw, at: datetime) -> None:
    pending = state.pending
    while draw.needed and state.pending_head < len(pending):
        first = pending[state.pending_head]
        if first.purchased_at > at:  # sorted by purchase: none of the rest was bought yet either
            break
        bundle = draw.take(activate_on_first_use(first, at))
        state.pending_head += 1
        draw.activated.append(bundle.id)
        if bundle.used_kb < bundle.cap_kb:
            insort(state.live, bundle, lo=state.head, key=_priority)


def _overage(needed: int, credit: int, overage: OverageRule, price_per_mb_minor: int) -> tuple[int, int]:
    """(charged kB, charged minor units) for `needed` kB beyond the bundles."""
    if overage == OverageRule.REFUSE or needed == 0:
        return 0, 0
    affordable_kb = (credit // price_per_mb_minor) * KB_PER_MB
    charged_kb = min(needed, affordable_kb)
    return charged_kb, -(-charged_kb // KB_PER_MB) * price_per_mb_minor


def _check_pricing(overage: OverageRule, price_per_mb_minor: int) -> None:
    if price_per_mb_minor < 0 or (overage == OverageRule.CHARGE_CREDIT and price_per_mb_minor == 0):
        raise InvalidInput(
            "charging overage needs a positive price per MB", code="invalid_overage_price", field="price"
        )


def _rate_on(
    record: UsageRecord, state: _LineState, overage: OverageRule, price_per_mb_minor: int, at: datetime
) -> Rating:
    draw = _Draw(record.kb)
    _draw_active(state, draw, record.start)
    if draw.needed:
        _draw_pending(state, draw, record.start)
    charged_kb, charged_minor = _overage(draw.needed, state.credit, overage, price_per_mb_minor)
    state.credit -= charged_minor
    return Rating(
        record_id=record.id,
        line_id=record.line_id,
        drawdowns=tuple(draw.drawdowns),
        activated=tuple(draw.activated),
        charged_kb=charged_kb,
        charged_minor=charged_minor,
        refused_kb=draw.needed - charged_kb,
        threshold_events=tuple(draw.events),
        updated_bundles=tuple(draw.updated),
        credit_minor_after=state.credit,
        rated_at=at,
    )


def rate(
    record: UsageRecord,
    bundles: Sequence[Bundle],
    *,
    credit_minor: int,
    overage: OverageRule,
    price_per_mb_minor: int,
    at: datetime,
) -> Rating:
    """Rate one record against its line's bundles and credit (see the module docstring for the rules).

    `at` is the rating time, carried in `Rating.rated_at`; validity is judged at `record.start`, so a late
    record is rated as of when it happened. Every bundle must be on the record's line.
    """
    require_aware(at, "at")
    _check_pricing(overage, price_per_mb_minor)
    state = _LineState(record.line_id, bundles, credit_minor)
    return _rate_on(record, state, overage, price_per_mb_minor, at)


def rate_batch(
    records: Iterable[UsageRecord],
    bundles_by_line: Mapping[str, Sequence[Bundle]],
    credit_by_line: Mapping[str, int],
    *,
    overage: OverageRule,
    price_per_mb_minor: int,
    at: datetime,
) -> list[Rating]:
    """Rate many records: lines in id order, each line's records in (start, id) order, state carried along.

    The result equals rating the records one by one with `rate`, feeding each rating's bundles and credit
    into the next. A line missing from the mappings has no bundles and no credit. Record ids must be unique
    (Conflict `duplicate_usage_record`). Cost: one sort of the records, then amortised O(1) per record plus
    O(1) per drawdown, since bundles used up or expired are skipped for good.
    """
    require_aware(at, "at")
    _check_pricing(overage, price_per_mb_minor)
    by_line: dict[str, list[UsageRecord]] = {}
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise Conflict(f"usage record {record.id} appears twice", code="duplicate_usage_record")
        seen.add(record.id)
        by_line.setdefault(record.line_id, []).append(record)
    ratings: list[Rating] = []
    for line_id in sorted(by_line):
        line_records = by_line[line_id]
        line_records.sort(key=lambda r: (r.start, r.id))
        state = _LineState(line_id, bundles_by_line.get(line_id, ()), credit_by_line.get(line_id, 0))
        ratings.extend(_rate_on(record, state, overage, price_per_mb_minor, at) for record in line_records)
    return ratings


def apply_ratings(bundles: Iterable[Bundle], ratings: Iterable[Rating]) -> list[Bundle]:
    """`bundles` with every rating's changes applied, in the input order (what a service then persists)."""
    latest = {bundle.id: bundle for rating in ratings for bundle in rating.updated_bundles}
    return [latest.get(bundle.id, bundle) for bundle in bundles]
