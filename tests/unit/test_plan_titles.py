"""The composition rule of plan titles (domain/plan_titles): which facts name a plan, in which order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from topup.domain.catalogue import BELGIAN_DEMO_PLANS, Plan, PlanKind
from topup.domain.esim_catalogue import ESIM_PLANS
from topup.domain.money import Money
from topup.domain.plan_titles import BundleTitle, CreditTitle, DataSize, compose, data_size


def test_a_credit_plan_is_named_by_its_amount() -> None:
    ten = next(p for p in BELGIAN_DEMO_PLANS if p.id == "proximus-credit-10")
    assert compose(ten) == CreditTitle(Money(1000, "EUR"))


def test_a_bundle_is_named_by_its_data_then_its_validity() -> None:
    week = next(p for p in BELGIAN_DEMO_PLANS if p.id == "proximus-data-7d-5gb")
    assert compose(week) == BundleTitle(DataSize(50, "GB"), 7)
    unlimited = next(p for p in ESIM_PLANS if p.unlimited)
    title = compose(unlimited)
    assert isinstance(title, BundleTitle)
    assert title.unlimited
    assert title.validity_days == 30


def test_data_sizes() -> None:
    assert data_size(1024) == DataSize(10, "GB")
    assert data_size(1536) == DataSize(15, "GB")
    assert not data_size(1536).whole
    assert data_size(500) == DataSize(500, "MB")
    assert data_size(500).whole


def test_every_demo_plan_of_a_network_has_its_own_title() -> None:
    for network_id in {p.network_id for p in (*BELGIAN_DEMO_PLANS, *ESIM_PLANS)}:
        plans = [p for p in (*BELGIAN_DEMO_PLANS, *ESIM_PLANS) if p.network_id == network_id]
        assert len({compose(p) for p in plans}) == len(plans), network_id


@given(st.integers(min_value=1, max_value=100_000), st.integers(min_value=1, max_value=10_000))
def test_two_credit_plans_share_a_title_only_when_they_share_an_amount(a: int, b: int) -> None:
    first = Plan("a", "n", PlanKind.CREDIT, "same name", Money(a, "EUR"))
    second = Plan("b", "n", PlanKind.CREDIT, "same name", Money(b, "EUR"))
    assert (compose(first) == compose(second)) == (a == b)
