"""Auto top-up rules (TMF654 `isAutoTopup`, `recurringPeriod`): when a top-up is due, which period it
belongs to, the monthly cap, and what a failed charge leads to. Pure: times come in, decisions go out.

A periodic auto top-up runs once per period, named by its period key (`2026-W49`, `2026-12`, a fortnight
`2026-F24`); a threshold one once per event (its key says which: the credit seen low on a day, or the
bundle it renews). The database keeps one run per (auto top-up, period key), so that no retry, restart
or race ever renews twice for one period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from topup.domain.errors import InvalidInput


class Trigger(StrEnum):
    PERIODIC = "periodic"  # every period (weekly, fortnightly, monthly)
    THRESHOLD = "threshold"  # credit below an amount (credit plans), or a bundle nearly used up or ending


class Period(StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"


class Status(StrEnum):
    PENDING = "pending"  # waiting for the first payment, which saves the card
    ACTIVE = "active"
    PAUSED = "paused"  # charges failed: the customer was told; nothing runs until they set it up again
    CANCELLED = "cancelled"


class RunState(StrEnum):
    STARTED = "started"  # the row exists: an order and a charge may follow
    CHARGED = "charged"  # the money was taken; the order is delivered as any other
    RETRYING = "retrying"  # a charge failed; another attempt is due
    FAILED = "failed"  # every attempt failed: the auto top-up paused
    CAPPED = "capped"  # it would exceed the monthly cap: skipped
    SKIPPED = "skipped"  # the auto top-up was paused or cancelled before it ran


NO_RETRY_CODES = frozenset({"authentication_required"})  # the customer must act: retrying cannot help
BUNDLE_LOW_PERCENT = 10
BUNDLE_ENDING = timedelta(days=1)
REMINDER_BEFORE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Spec:
    """What the buyer chose: a trigger, its period or threshold, the cap per calendar month."""

    trigger: Trigger
    period: Period | None
    threshold_minor: int  # THRESHOLD on a credit plan: top up when the credit is below this; else 0
    cap_minor: int  # at most this much charged per calendar month (Brussels)


def make_spec(trigger: str, period: str, threshold_minor: int, cap_minor: int, price_minor: int) -> Spec:
    """Check a choice; a cap below one top-up's price could never run, so it is refused."""
    try:
        kind = Trigger(trigger)
    except ValueError:
        raise InvalidInput(
            "choose periodic or threshold", code="auto_topup_invalid", field="trigger"
        ) from None
    chosen: Period | None = None
    if kind is Trigger.PERIODIC:
        try:
            chosen = Period(period)
        except ValueError:
            raise InvalidInput(
                "choose weekly, fortnightly or monthly", code="auto_topup_invalid", field="period"
            ) from None
    if threshold_minor < 0 or (kind is Trigger.PERIODIC and threshold_minor):
        raise InvalidInput(
            "a threshold is for threshold top-ups", code="auto_topup_invalid", field="threshold"
        )
    if cap_minor < price_minor:
        raise InvalidInput(
            "the monthly cap is below the price of one top-up", code="auto_topup_cap_too_low", field="cap"
        )
    return Spec(kind, chosen, threshold_minor, cap_minor)


def period_key(period: Period, day: date) -> str:
    """The period `day` (local date) falls in: ISO week, two-week block of ISO weeks, or month."""
    if period is Period.MONTHLY:
        return f"{day:%Y-%m}"
    year, week, _weekday = day.isocalendar()
    if period is Period.WEEKLY:
        return f"{year}-W{week:02d}"
    return f"{year}-F{(week + 1) // 2:02d}"


def next_run(period: Period, after: datetime) -> datetime:
    """When the next periodic top-up after `after` is due: one period later, same time of day; a monthly
    one on the same day of the month, or the month's last day when it has fewer days."""
    if period is Period.WEEKLY:
        return after + timedelta(days=7)
    if period is Period.FORTNIGHTLY:
        return after + timedelta(days=14)
    year, month = (after.year, after.month + 1) if after.month < 12 else (after.year + 1, 1)
    for day in range(after.day, 27, -1):
        try:
            return after.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return after.replace(year=year, month=month, day=min(after.day, 28))


def month_key(day: date) -> str:
    return f"{day:%Y-%m}"


def within_cap(spent_this_month_minor: int, price_minor: int, cap_minor: int) -> bool:
    """A top-up may run only when it keeps the month's total at or under the cap."""
    return spent_this_month_minor + price_minor <= cap_minor


def credit_low(credit_minor: int, threshold_minor: int) -> bool:
    return credit_minor < threshold_minor


def bundle_needs_renewal(
    left_kb: int, total_kb: int | None, expires_at: datetime | None, at: datetime
) -> bool:
    """A bundle below 10 % of its data, or ending within a day, is renewed with the same plan."""
    if expires_at is not None and expires_at - at <= BUNDLE_ENDING:
        return True
    return bool(total_kb) and left_kb * 100 < BUNDLE_LOW_PERCENT * int(total_kb or 0)


@dataclass(frozen=True, slots=True)
class AfterFailure:
    pause: bool  # give up: pause the auto top-up and tell the customer
    retry_in: timedelta | None  # otherwise: try again after this long


def after_failure(code: str, attempts_made: int, max_attempts: int, retry_after: timedelta) -> AfterFailure:
    """A declined charge is tried again up to `max_attempts` in all; a charge that needs the customer
    (authentication) or the last attempt pauses the auto top-up."""
    if code in NO_RETRY_CODES or attempts_made >= max_attempts:
        return AfterFailure(pause=True, retry_in=None)
    return AfterFailure(pause=False, retry_in=retry_after * attempts_made)
