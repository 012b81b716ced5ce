"""The promotion rules against a small independent model: totals never below zero, savings that add up to
the discount, the stated order (a percentage of what is left), exclusivity, and budgets never exceeded."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain import promotion_rules as rules
from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.errors import Conflict, InvalidInput
from topup.domain.money import Money, split_vat
from topup.domain.quotes import Quote, make_quote

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)
EUR = "EUR"
NAMES = (("en", "Promo"), ("zh-hans", "优惠"))


def campaign(cid: str, rule: rules.Rule = rules.Rule.PERCENT, **terms: object) -> rules.Campaign:
    return rules.Campaign(id=cid, rule=rule, names=NAMES, **terms)  # type: ignore[arg-type]


def purchase(price_minor: int = 1000, **facts: object) -> rules.Purchase:
    base: dict[str, object] = {
        "plan_id": "proximus-credit-10", "network_id": "proximus", "hosted": False,
        "price": Money(price_minor, EUR), "channel": "api", "at": AT, "first_purchase": True,
    }  # fmt: skip
    return rules.Purchase(**{**base, **facts})  # type: ignore[arg-type]


def quote(price_minor: int) -> Quote:
    network = Network("proximus", "Proximus", NetworkKind.EXTERNAL, commission_bp=500)
    plan = Plan("p", "proximus", PlanKind.CREDIT, "x", Money(price_minor, EUR), code="C")
    return make_quote(plan, network, "+32470123456", guessed_network=None)


campaigns = st.lists(
    st.builds(
        lambda i, rule, bp, amount, priority, exclusive, budget: campaign(
            f"cmp_{i:02d}",
            rule,
            percent_bp=bp,
            amount_minor=amount,
            priority=priority,
            stacking=rules.Stacking.EXCLUSIVE if exclusive else rules.Stacking.COMBINABLE,
            budget_left_minor=budget,
        ),
        st.integers(0, 99),
        st.sampled_from([rules.Rule.PERCENT, rules.Rule.FIXED, rules.Rule.FIRST_TOPUP]),
        st.integers(0, 10_000),
        st.integers(0, 5_000),
        st.integers(0, 5),
        st.booleans(),
        st.none() | st.integers(0, 3_000),
    ),
    max_size=6,
    unique_by=lambda c: c.id,
)


@given(campaigns, st.integers(1, 10_000))
def test_the_total_never_goes_below_zero_and_savings_add_up_to_the_discount(
    offers: list[rules.Campaign], price_minor: int
) -> None:
    applied = rules.apply(offers, purchase(price_minor), "en")
    priced = rules.discounted(quote(price_minor), applied)
    assert priced.total.amount_minor >= 0
    assert sum(p.saving.amount_minor for p in applied) == priced.discount.amount_minor
    assert priced.net + priced.vat == priced.total
    assert priced.vat == split_vat(priced.total).vat  # VAT on what the customer pays


@given(campaigns, st.integers(1, 10_000))
def test_the_stated_order_is_kept_and_an_exclusive_campaign_applies_alone(
    offers: list[rules.Campaign], price_minor: int
) -> None:
    applied = rules.apply(offers, purchase(price_minor), "en")
    by_id = {c.id: c for c in offers}
    order = [(by_id[p.campaign_id].priority, p.campaign_id) for p in applied]
    assert order == sorted(order)
    if any(by_id[p.campaign_id].stacking is rules.Stacking.EXCLUSIVE for p in applied):
        assert len(applied) == 1
    # The independent model: each saving from what the earlier ones left.
    left = price_minor
    for promotion in applied:
        terms = by_id[promotion.campaign_id]
        if terms.percent_bp and terms.rule is not rules.Rule.FIXED:
            expected = round(left * terms.percent_bp / 10_000)
            assert abs(promotion.saving.amount_minor - expected) <= 1
        else:
            assert promotion.saving.amount_minor == min(terms.amount_minor, left)
        left -= promotion.saving.amount_minor


@given(campaigns, st.integers(1, 10_000))
def test_a_campaign_never_spends_past_its_budget(offers: list[rules.Campaign], price_minor: int) -> None:
    for promotion in rules.apply(offers, purchase(price_minor), "en"):
        budget = next(c.budget_left_minor for c in offers if c.id == promotion.campaign_id)
        assert budget is None or rules.cost_minor(promotion, Money(price_minor, EUR)) <= budget


@given(campaigns, st.lists(st.integers(1, 10_000), min_size=1, max_size=20))
def test_a_run_of_purchases_never_spends_a_campaign_past_its_budget(
    offers: list[rules.Campaign], prices: list[int]
) -> None:
    """Purchase after purchase, each priced against what the earlier ones left of every budget (as the
    services read a campaign's budget afresh): the sum spent per campaign stays within its budget."""
    left = {c.id: c.budget_left_minor for c in offers}
    spent = dict.fromkeys(left, 0)
    for price_minor in prices:
        now_offered = [dataclasses.replace(c, budget_left_minor=left[c.id]) for c in offers]
        for promotion in rules.apply(now_offered, purchase(price_minor), "en"):
            cost = rules.cost_minor(promotion, Money(price_minor, EUR))
            spent[promotion.campaign_id] += cost
            budget = left[promotion.campaign_id]
            left[promotion.campaign_id] = None if budget is None else budget - cost
    for campaign in offers:
        assert campaign.budget_left_minor is None or spent[campaign.id] <= campaign.budget_left_minor


def test_a_percentage_is_taken_of_what_the_earlier_promotions_left() -> None:
    offers = [
        campaign("cmp_b", rules.Rule.PERCENT, percent_bp=1000, priority=2),
        campaign("cmp_a", rules.Rule.FIXED, amount_minor=500, priority=1),
    ]
    applied = rules.apply(offers, purchase(1500), "zh-hans")
    assert [(p.campaign_id, p.saving.amount_minor) for p in applied] == [("cmp_a", 500), ("cmp_b", 100)]
    assert applied[0].name == "优惠"


def test_eligibility_dates_channels_networks_minimum_and_first_purchase() -> None:
    late = campaign("cmp_1", percent_bp=100, starts_at=AT + timedelta(days=1))
    web_only = campaign("cmp_2", percent_bp=100, channels=frozenset({"web"}))
    orange = campaign("cmp_3", percent_bp=100, networks=frozenset({"orange"}))
    big = campaign("cmp_4", percent_bp=100, min_amount_minor=1500)
    first = campaign("cmp_5", rules.Rule.FIRST_TOPUP, percent_bp=100)
    assert not any(rules.eligible(c, purchase()) for c in (late, web_only, orange, big))
    assert rules.eligible(web_only, purchase(channel="web"))
    assert not rules.eligible(web_only, purchase(channel=""))  # a caller that does not say its channel
    assert rules.eligible(first, purchase())
    assert not rules.eligible(first, purchase(first_purchase=False))


def test_a_code_that_does_not_apply_is_refused_never_ignored() -> None:
    coded = campaign(
        "cmp_code", rules.Rule.FIXED, amount_minor=500, min_amount_minor=1500, requires_code=True
    )
    assert rules.apply([coded], purchase(1000), "en") == ()
    with pytest.raises(Conflict) as refused:
        rules.require_code_applied(
            "cmp_code", rules.apply([coded], purchase(1000, code_campaign="cmp_code"), "en")
        )
    assert refused.value.code == "promo_code_not_applicable"
    assert rules.apply([coded], purchase(1500), "en") == ()  # without the code, nothing
    assert rules.normalise_code(" flyer 5\n") == "FLYER5"


def test_bonuses_only_on_hosted_lines_within_the_window() -> None:
    bonus = campaign(
        "cmp_bonus", rules.Rule.BONUS_CREDIT, amount_minor=200, min_amount_minor=1500, within_days=31,
        networks=frozenset({"topup-esim"}),
    )  # fmt: skip
    hosted = {"network_id": "topup-esim", "hosted": True, "existing_line": True}
    assert rules.apply([bonus], purchase(1500, **hosted, days_since_last_topup=31), "en")[0].bonus_credit == (
        Money(200, EUR)
    )
    assert rules.apply([bonus], purchase(1500, **hosted, days_since_last_topup=32), "en") == ()
    assert rules.apply([bonus], purchase(1499, **hosted, days_since_last_topup=3), "en") == ()
    on_proximus = campaign(
        "cmp_x", rules.Rule.BONUS_DATA, bonus_data_mb=500, networks=frozenset({"proximus"})
    )
    with pytest.raises(InvalidInput) as refused:
        rules.validate(on_proximus, hosted_networks={"topup-esim"})
    assert refused.value.code == "promotion_invalid"
    rules.validate(bonus, hosted_networks={"topup-esim"})


def test_buy_one_get_one_now_or_on_the_next_purchase() -> None:
    hosted = {"plan_id": "esim-1d-1gb", "network_id": "topup-esim", "hosted": True}
    same = campaign("cmp_same", rules.Rule.BOGO, networks=frozenset({"topup-esim"}))
    [gift] = rules.apply([same], purchase(299, **hosted), "en")
    assert (gift.rule, gift.free_plan_id, gift.saving.amount_minor) == ("bogo", "esim-1d-1gb", 0)
    assert rules.cost_minor(gift, Money(299, EUR)) == 299
    later = campaign("cmp_next", rules.Rule.BOGO, bogo_mode=rules.BogoMode.NEXT_PURCHASE)
    [grant] = rules.apply([later], purchase(299, **hosted), "en")
    assert grant.rule == rules.BOGO_GRANT
    assert grant.saving.amount_minor == 0
    [free] = rules.apply([later], purchase(299, **hosted, entitled=frozenset({"cmp_next"})), "en")
    assert free.saving.amount_minor == 299


def test_a_free_order_still_pays_the_carrier_its_share() -> None:
    full = quote(1000)
    free = rules.discounted(full, [rules.apply([campaign("c", percent_bp=10_000)], purchase(), "en")[0]])
    assert free.total.amount_minor == 0
    assert free.carrier_amount == full.carrier_amount
