"""Bundles on hosted lines: stack and extend, first-use activation, expiry records, usage thresholds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.bundles import (
    Bundle,
    BundleStart,
    BundleStatus,
    BundleTerms,
    TopupRule,
    activate_on_first_use,
    apply_purchase,
    cancel,
    crossed_thresholds,
    expire,
    terms_for,
)
from topup.domain.catalogue import BELGIAN_DEMO_PLANS, Plan, PlanKind
from topup.domain.errors import Conflict, IllegalTransition, InvalidInput
from topup.domain.money import Money

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LINE = "ln_1"


def _plan(plan_id: str = "hosted-7d-5gb", data_mb: int | None = 5_120, days: int = 7) -> Plan:
    if data_mb is None:
        return Plan(plan_id, "hosted", PlanKind.BUNDLE, plan_id, Money(999, "EUR"), None, True, days, 100)
    return Plan(plan_id, "hosted", PlanKind.BUNDLE, plan_id, Money(999, "EUR"), data_mb, validity_days=days)


def _terms(
    rule: TopupRule = TopupRule.STACK, start: BundleStart = BundleStart.ON_PURCHASE, plan: Plan | None = None
) -> BundleTerms:
    return terms_for(plan or _plan(), start, rule)


def _buy(existing: list[Bundle], terms: BundleTerms, bundle_id: str, at: datetime) -> Bundle:
    outcome = apply_purchase(existing, terms, bundle_id=bundle_id, line_id=LINE, at=at)
    result = outcome.created or outcome.extended
    assert result is not None
    assert (outcome.created is None) != (outcome.extended is None)
    return result


# --- terms -------------------------------------------------------------------------------------------------


def test_terms_convert_megabytes_to_binary_kilobytes() -> None:
    terms = _terms(TopupRule.EXTEND, BundleStart.ON_FIRST_USE)
    assert (terms.plan_id, terms.data_kb, terms.fair_use_kb, terms.validity_days) == (
        "hosted-7d-5gb", 5_120 * 1024, None, 7,
    )  # fmt: skip
    assert (terms.start, terms.rule) == (BundleStart.ON_FIRST_USE, TopupRule.EXTEND)
    unlimited = terms_for(_plan("u", None, 30), BundleStart.ON_PURCHASE, TopupRule.STACK)
    assert (unlimited.data_kb, unlimited.fair_use_kb) == (None, 100 * 1024)


def test_terms_refuse_a_credit_plan() -> None:
    credit = next(plan for plan in BELGIAN_DEMO_PLANS if plan.kind == PlanKind.CREDIT)
    with pytest.raises(InvalidInput) as caught:
        terms_for(credit, BundleStart.ON_PURCHASE, TopupRule.STACK)
    assert caught.value.code == "not_a_bundle_plan"


# --- stack and extend --------------------------------------------------------------------------------------


def test_stack_creates_a_second_bundle_with_its_own_expiry() -> None:
    first = _buy([], _terms(), "b1", T0)
    assert (first.status, first.starts_at, first.expires_at, first.used_kb) == (
        BundleStatus.ACTIVE, T0, T0 + 7 * DAY, 0,
    )  # fmt: skip
    second = _buy([first], _terms(), "b2", T0 + 3 * DAY)
    assert second.id == "b2"
    assert second.expires_at == T0 + 10 * DAY
    assert second.data_kb == first.data_kb


def test_extend_adds_data_and_pushes_expiry_from_the_current_expiry() -> None:
    first = replace(_buy([], _terms(), "b1", T0), used_kb=1_000)
    outcome = apply_purchase([first], _terms(TopupRule.EXTEND), bundle_id="b2", line_id=LINE, at=T0 + 3 * DAY)
    assert outcome.created is None
    extended = outcome.extended
    assert extended is not None
    assert extended.id == "b1"
    assert extended.data_kb == 2 * 5_120 * 1024
    assert extended.used_kb == 1_000
    assert extended.expires_at == T0 + 14 * DAY  # later of now (T0+3d) and expiry (T0+7d), plus 7 days
    assert extended.starts_at == T0


def test_extend_after_expiry_starts_from_now_as_a_new_bundle() -> None:
    first = _buy([], _terms(), "b1", T0)
    later = T0 + 7 * DAY  # expires_at is exclusive: the bundle is over at this instant
    renewed = _buy([first], _terms(TopupRule.EXTEND), "b2", later)
    assert (renewed.id, renewed.expires_at) == ("b2", later + 7 * DAY)


def test_extend_of_an_unlimited_bundle_adds_fair_use() -> None:
    plan = _plan("u30", None, 30)
    first = _buy([], _terms(plan=plan), "b1", T0)
    extended = _buy([first], _terms(TopupRule.EXTEND, plan=plan), "b2", T0 + DAY)
    assert (extended.id, extended.data_kb, extended.fair_use_kb) == ("b1", None, 200 * 1024)
    assert extended.expires_at == T0 + 60 * DAY


@pytest.mark.parametrize("status", [BundleStatus.PENDING, BundleStatus.EXHAUSTED, BundleStatus.EXPIRED])
def test_extend_on_a_bundle_that_is_not_active_stacks(status: BundleStatus) -> None:
    first = _buy([], _terms(), "b1", T0)
    if status == BundleStatus.PENDING:
        first = replace(first, status=status, starts_at=None, expires_at=None)
    elif status == BundleStatus.EXHAUSTED:
        first = replace(first, status=status, used_kb=first.cap_kb)
    else:
        first = replace(first, status=status)
    created = _buy([first], _terms(TopupRule.EXTEND), "b2", T0 + DAY)
    assert created.id == "b2"


def test_extend_only_touches_the_same_plan_on_the_same_line() -> None:
    other_plan = _buy([], _terms(plan=_plan("hosted-30d", 20_480, 30)), "b1", T0)
    other_line = replace(_buy([], _terms(), "b2", T0), line_id="ln_2")
    created = _buy([other_plan, other_line], _terms(TopupRule.EXTEND), "b3", T0 + DAY)
    assert created.id == "b3"


def test_extend_picks_the_latest_expiring_active_bundle() -> None:
    early = _buy([], _terms(), "b1", T0)
    late = _buy([early], _terms(), "b2", T0 + 2 * DAY)
    extended = _buy([early, late], _terms(TopupRule.EXTEND), "b3", T0 + 3 * DAY)
    assert (extended.id, extended.expires_at) == ("b2", T0 + 16 * DAY)


def test_on_first_use_purchase_is_pending() -> None:
    bundle = _buy([], _terms(start=BundleStart.ON_FIRST_USE), "b1", T0)
    assert (bundle.status, bundle.starts_at, bundle.expires_at) == (BundleStatus.PENDING, None, None)
    assert not bundle.is_usable(T0)


def test_a_reused_bundle_id_is_a_conflict() -> None:
    first = _buy([], _terms(), "b1", T0)
    with pytest.raises(Conflict) as caught:
        apply_purchase([first], _terms(), bundle_id="b1", line_id=LINE, at=T0)
    assert caught.value.code == "bundle_exists"


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        apply_purchase([], _terms(), bundle_id="b1", line_id=LINE, at=datetime(2025, 3, 1))  # noqa: DTZ001
    assert caught.value.code == "naive_datetime"


# --- bundle values -----------------------------------------------------------------------------------------


def test_usability_window_is_start_inclusive_end_exclusive() -> None:
    bundle = _buy([], _terms(), "b1", T0)
    assert bundle.is_usable(T0)
    assert bundle.is_usable(T0 + 7 * DAY - timedelta(microseconds=1))
    assert not bundle.is_usable(T0 + 7 * DAY)
    assert not bundle.is_usable(T0 - timedelta(seconds=1))
    assert not replace(bundle, used_kb=bundle.cap_kb).is_usable(T0)


def test_remaining_of_an_unlimited_bundle_is_against_fair_use() -> None:
    bundle = replace(_buy([], _terms(plan=_plan("u", None, 30)), "b1", T0), used_kb=2_048)
    assert (bundle.is_unlimited, bundle.cap_kb, bundle.remaining_kb) == (True, 102_400, 100_352)


@pytest.mark.parametrize(
    "changes",
    [
        {"used_kb": -1},
        {"used_kb": 5_120 * 1024 + 1},
        {"fair_use_kb": 10},
        {"data_kb": None},
        {"validity_days": 0},
        {"status": BundleStatus.PENDING},
        {"expires_at": T0},
        {"purchased_at": datetime(2025, 3, 1)},  # noqa: DTZ001
    ],
)
def test_inconsistent_bundles_are_refused(changes: dict[str, Any]) -> None:
    bundle = _buy([], _terms(), "b1", T0)
    with pytest.raises(InvalidInput):
        replace(bundle, **changes)


# --- activation, cancellation, expiry ----------------------------------------------------------------------


def test_first_use_activates_for_the_validity() -> None:
    pending = _buy([], _terms(start=BundleStart.ON_FIRST_USE), "b1", T0)
    active = activate_on_first_use(pending, T0 + 5 * DAY)
    assert (active.status, active.starts_at, active.expires_at) == (
        BundleStatus.ACTIVE, T0 + 5 * DAY, T0 + 12 * DAY,
    )  # fmt: skip
    with pytest.raises(IllegalTransition) as caught:
        activate_on_first_use(active, T0 + 6 * DAY)
    assert caught.value.code == "bundle_not_pending"
    with pytest.raises(InvalidInput) as early:
        activate_on_first_use(pending, T0 - DAY)
    assert early.value.code == "activation_before_purchase"


def test_cancel_pending_or_active_only() -> None:
    bundle = _buy([], _terms(), "b1", T0)
    cancelled = cancel(bundle)
    assert cancelled.status == BundleStatus.CANCELLED
    with pytest.raises(IllegalTransition):
        cancel(cancelled)


def test_expiry_records_the_remainder() -> None:
    used = replace(_buy([], _terms(), "b1", T0), used_kb=1_000)
    fresh = _buy([used], _terms(), "b2", T0 + 2 * DAY)
    pending = _buy([], _terms(start=BundleStart.ON_FIRST_USE), "b3", T0)
    exhausted = replace(_buy([], _terms(), "b4", T0), used_kb=5_120 * 1024, status=BundleStatus.EXHAUSTED)
    sweep_at = T0 + 8 * DAY
    records = expire([used, fresh, pending, exhausted], sweep_at)
    assert [(r.bundle_id, r.remaining_kb, r.expired_at) for r in records] == [
        ("b1", 5_120 * 1024 - 1_000, T0 + 7 * DAY)
    ]
    assert records[0].bundle.status == BundleStatus.EXPIRED
    assert records[0].bundle.used_kb == 1_000
    assert expire([records[0].bundle], sweep_at) == []  # a repeated sweep records nothing twice
    assert expire([used], T0 + 7 * DAY)[0].expired_at == T0 + 7 * DAY  # due at exactly expires_at


# --- thresholds --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (0, 79, []),
        (0, 80, [80]),
        (79, 81, [80]),
        (80, 99, []),
        (80, 100, [100]),
        (0, 100, [80, 100]),
        (100, 100, []),
    ],
)
def test_thresholds_on_a_total_of_100(before: int, after: int, expected: list[int]) -> None:
    assert crossed_thresholds(before, after, 100) == expected


def test_thresholds_use_exact_arithmetic() -> None:
    assert crossed_thresholds(0, 2, 3, thresholds=(66, 67)) == [66]  # 2/3 = 66.67 %
    assert crossed_thresholds(2, 3, 3, thresholds=(67, 100, 67)) == [67, 100]
    with pytest.raises(InvalidInput):
        crossed_thresholds(5, 4, 10)


@given(total=st.integers(1, 10_000), steps=st.lists(st.integers(0, 3_000), max_size=30))
def test_each_threshold_is_crossed_exactly_once(total: int, steps: list[int]) -> None:
    used, events = 0, []
    for step in steps:
        after = min(total, used + step)
        events.extend(crossed_thresholds(used, after, total))
        used = after
    expected = [p for p in (80, 100) if used * 100 >= p * total]
    assert sorted(events) == expected


# --- properties of purchase sequences ----------------------------------------------------------------------

PLANS = (_plan("p-1d", 1_024, 1), _plan("p-7d", 5_120, 7), _plan("p-30u", None, 30))

purchase = st.tuples(
    st.sampled_from(PLANS),
    st.sampled_from(TopupRule),
    st.sampled_from(BundleStart),
    st.integers(0, 24 * 10),  # hours since the previous event
    st.booleans(),  # activate the oldest pending bundle before buying
    st.integers(0, 5_000),  # kB used on every active bundle before buying
)


@given(st.lists(purchase, min_size=1, max_size=25))
def test_purchases_never_shorten_validity_nor_lose_data(
    steps: list[tuple[Plan, TopupRule, BundleStart, int, bool, int]],
) -> None:
    bundles: dict[str, Bundle] = {}
    now = T0
    for n, (plan, rule, start, gap_hours, activate, use_kb) in enumerate(steps):
        now += timedelta(hours=gap_hours)
        pending = [b for b in bundles.values() if b.status == BundleStatus.PENDING]
        if activate and pending:
            bundles[pending[0].id] = activate_on_first_use(pending[0], now)
        for record in expire(list(bundles.values()), now):
            bundles[record.bundle_id] = record.bundle
        for b in list(bundles.values()):
            if b.is_usable(now):
                bundles[b.id] = replace(b, used_kb=min(b.cap_kb, b.used_kb + use_kb))
        before = dict(bundles)
        terms = terms_for(plan, start, rule)
        outcome = apply_purchase(list(bundles.values()), terms, bundle_id=f"b{n}", line_id=LINE, at=now)
        changed = outcome.created or outcome.extended
        assert changed is not None
        assert (outcome.created is None) != (outcome.extended is None)
        bundles[changed.id] = changed
        bought = terms.data_kb or terms.fair_use_kb or 0
        assert sum(b.cap_kb for b in bundles.values()) == sum(b.cap_kb for b in before.values()) + bought
        for bundle_id, old in before.items():
            new = bundles[bundle_id]
            assert new.cap_kb >= old.cap_kb
            assert new.used_kb == old.used_kb
            assert new.status == old.status
            if old.expires_at is not None:
                assert new.expires_at is not None
                assert new.expires_at >= old.expires_at
        if outcome.extended is not None:
            old = before[outcome.extended.id]
            assert old.expires_at is not None
            assert old.expires_at > now
            assert outcome.extended.expires_at == old.expires_at + timedelta(days=terms.validity_days)
        else:
            assert outcome.created is not None
            assert outcome.created.used_kb == 0
