"""Reminders before a bundle runs out: which are due, which one goes when several are, and when it may go.

A bundle earns four reminders, each at most once: 75 % and 90 % of its data used, and its end 7 and 3 days
ahead (an end reminder only for a bundle that lasts longer than its window: whoever buys a 3-day bundle
knows when it ends). A line gets at most one reminder a Brussels calendar day and none between 22:00 and
08:00 Brussels time: a reminder due at night waits until 08:00, one due after the day's reminder went waits
until 08:00 the next day. When several are due at the moment one goes, only the most urgent goes and the
others are **dropped** (not merged: one short SMS says one thing, and the more urgent one says the more
pressing thing about the same line).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from topup.domain.catalogue import Plan, PlanKind

QUIET_FROM = time(22, 0)  # local time from which nothing is sent ...
QUIET_UNTIL = time(8, 0)  # ... until this time the next morning


class ReminderKind(StrEnum):
    USAGE_75 = "usage_75"
    USAGE_90 = "usage_90"
    EXPIRY_7D = "expiry_7d"
    EXPIRY_3D = "expiry_3d"


# Most urgent first. An end in 3 days loses whatever is left; 90 % used runs out any moment; an end in
# 7 days is still far; 75 % used is the earliest warning.
URGENCY: tuple[ReminderKind, ...] = (
    ReminderKind.EXPIRY_3D,
    ReminderKind.USAGE_90,
    ReminderKind.EXPIRY_7D,
    ReminderKind.USAGE_75,
)
USAGE_PERCENT = {ReminderKind.USAGE_75: 75, ReminderKind.USAGE_90: 90}
EXPIRY_DAYS = {ReminderKind.EXPIRY_7D: 7, ReminderKind.EXPIRY_3D: 3}
LONGEST_WINDOW = timedelta(days=max(EXPIRY_DAYS.values()))


def due(
    *, used_kb: int, data_kb: int | None, validity_days: int, expires_at: datetime | None, at: datetime
) -> tuple[ReminderKind, ...]:
    """The reminders a still-running bundle has earned at `at`, most urgent first."""
    earned: set[ReminderKind] = set()
    if data_kb is not None and data_kb > 0:
        earned.update(kind for kind, p in USAGE_PERCENT.items() if used_kb * 100 >= p * data_kb)
    if expires_at is not None and expires_at > at:
        earned.update(
            kind
            for kind, days in EXPIRY_DAYS.items()
            if validity_days > days and expires_at <= at + timedelta(days=days)
        )
    return tuple(kind for kind in URGENCY if kind in earned)


def most_urgent(kinds: Iterable[ReminderKind]) -> ReminderKind | None:
    """The one reminder that goes out of several due together (the others are dropped)."""
    present = set(kinds)
    return next((kind for kind in URGENCY if kind in present), None)


def _local_clock(at: datetime, zone: tzinfo) -> time:
    local = at.astimezone(zone)
    return time(local.hour, local.minute, local.second, local.microsecond)


def is_quiet(at: datetime, zone: tzinfo) -> bool:
    local = _local_clock(at, zone)
    return local >= QUIET_FROM or local < QUIET_UNTIL


def local_day(at: datetime, zone: tzinfo) -> date:
    return at.astimezone(zone).date()


def _morning(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, QUIET_UNTIL, tzinfo=zone).astimezone(UTC)


def earliest_send(at: datetime, last_sent_at: datetime | None, zone: tzinfo) -> datetime:
    """When a reminder due at `at` may go: now, else 08:00 (this morning or the next), and never on the
    local day of the line's last reminder (then 08:00 the day after it)."""
    local, clock = at.astimezone(zone), _local_clock(at, zone)
    if clock >= QUIET_FROM:
        candidate = _morning(local.date() + timedelta(days=1), zone)
    elif clock < QUIET_UNTIL:
        candidate = _morning(local.date(), zone)
    else:
        candidate = at
    if last_sent_at is not None and local_day(last_sent_at, zone) >= local_day(candidate, zone):
        candidate = _morning(local_day(last_sent_at, zone) + timedelta(days=1), zone)
    return candidate


def renewal_plan(current: Plan | None, offered: Sequence[Plan]) -> Plan | None:
    """The cheapest bundle that fits: among the bundles on sale for the line's network, the cheapest with at
    least as much data as the current one (an unlimited one only by an unlimited one), else the cheapest."""
    bundles = [p for p in offered if p.kind is PlanKind.BUNDLE and p.active]
    if current is not None and current.network_id:
        bundles = [p for p in bundles if p.network_id == current.network_id]
    if not bundles:
        return None

    def fits(plan: Plan) -> bool:
        if current is None:
            return True
        if current.unlimited:
            return plan.unlimited
        return plan.unlimited or (plan.data_mb or 0) >= (current.data_mb or 0)

    def price_order(plan: Plan) -> tuple[int, int, str]:
        return (plan.price.amount_minor, -(plan.data_mb or 0), plan.id)

    fitting = [p for p in bundles if fits(p)]
    return min(fitting or bundles, key=price_order)
