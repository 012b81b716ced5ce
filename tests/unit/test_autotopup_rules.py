"""Auto top-up's rules: period keys, the next run, the cap, thresholds and what a failed charge leads to."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain import autotopup as rules
from topup.domain.errors import InvalidInput


def test_period_keys_name_the_week_the_fortnight_and_the_month() -> None:
    assert rules.period_key(rules.Period.MONTHLY, date(2026, 12, 31)) == "2026-12"
    assert rules.period_key(rules.Period.WEEKLY, date(2026, 12, 4)) == "2026-W49"
    assert rules.period_key(rules.Period.WEEKLY, date(2027, 1, 1)) == "2026-W53"  # ISO year
    assert rules.period_key(rules.Period.FORTNIGHTLY, date(2026, 11, 30)) == rules.period_key(
        rules.Period.FORTNIGHTLY, date(2026, 12, 13)
    )  # weeks 49 and 50 are one fortnight
    assert rules.period_key(rules.Period.FORTNIGHTLY, date(2026, 12, 14)) == "2026-F26"


EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2090, 1, 1)  # noqa: DTZ001 - hypothesis takes naive bounds


@given(st.sampled_from(list(rules.Period)), st.datetimes(EARLIEST, LATEST, timezones=st.just(UTC)))
def test_the_next_run_is_always_in_a_later_period(period: rules.Period, at: datetime) -> None:
    later = rules.next_run(period, at)
    assert later > at
    assert rules.period_key(period, later.date()) != rules.period_key(period, at.date())
    assert later - at <= timedelta(days=31)


def test_a_monthly_run_on_the_31st_falls_on_the_last_day_of_a_short_month() -> None:
    assert rules.next_run(rules.Period.MONTHLY, datetime(2027, 1, 31, 9, tzinfo=UTC)).day == 28
    assert rules.next_run(rules.Period.MONTHLY, datetime(2026, 12, 15, 9, tzinfo=UTC)).month == 1


@given(
    st.lists(st.integers(min_value=1, max_value=5000), max_size=30), st.integers(min_value=1, max_value=20000)
)
def test_runs_admitted_under_the_cap_never_exceed_it(prices: list[int], cap: int) -> None:
    spent = 0
    for price in prices:
        if rules.within_cap(spent, price, cap):
            spent += price
    assert spent <= cap


def test_a_choice_is_checked() -> None:
    spec = rules.make_spec("periodic", "weekly", 0, 5000, 1000)
    assert spec.period is rules.Period.WEEKLY
    assert rules.make_spec("threshold", "", 500, 1000, 1000).threshold_minor == 500
    for args, code in (
        (("sometimes", "", 0, 5000, 1000), "auto_topup_invalid"),
        (("periodic", "daily", 0, 5000, 1000), "auto_topup_invalid"),
        (("periodic", "weekly", 300, 5000, 1000), "auto_topup_invalid"),
        (("periodic", "weekly", 0, 999, 1000), "auto_topup_cap_too_low"),
    ):
        with pytest.raises(InvalidInput) as caught:
            rules.make_spec(*args)
        assert caught.value.code == code


def test_bundles_are_renewed_below_ten_percent_or_within_a_day_of_their_end() -> None:
    at = datetime(2026, 12, 4, 12, tzinfo=UTC)
    far = at + timedelta(days=5)
    assert not rules.bundle_needs_renewal(100, 1000, far, at)
    assert rules.bundle_needs_renewal(99, 1000, far, at)
    assert rules.bundle_needs_renewal(900, 1000, at + timedelta(hours=23), at)
    assert not rules.bundle_needs_renewal(0, None, far, at)  # unlimited: only its end counts
    assert rules.credit_low(499, 500)
    assert not rules.credit_low(500, 500)


def test_a_declined_card_is_retried_then_paused_and_authentication_pauses_at_once() -> None:
    hour = timedelta(hours=1)
    assert rules.after_failure("card_declined", 1, 3, hour) == rules.AfterFailure(False, hour)
    assert rules.after_failure("card_declined", 2, 3, hour) == rules.AfterFailure(False, 2 * hour)
    assert rules.after_failure("card_declined", 3, 3, hour).pause
    assert rules.after_failure("authentication_required", 1, 3, hour).pause
