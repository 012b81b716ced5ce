"""The catalogue's validation, the Belgian demo seed and the pricing of a quote."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.catalogue import (
    BELGIAN_DEMO_NETWORKS,
    BELGIAN_DEMO_PLANS,
    Network,
    NetworkKind,
    Plan,
    PlanKind,
    find_plan,
    plans_by_id,
)
from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.domain.money import Money
from topup.domain.quotes import Quote, commission_of, make_quote, networks_compatible

EUR = "EUR"
PROXIMUS = Network("proximus", "Proximus", NetworkKind.EXTERNAL, 500)
ORANGE = Network("orange", "Orange Belgium", NetworkKind.EXTERNAL, 500)
CREDIT_10 = Plan(
    "proximus-credit-10", "proximus", PlanKind.CREDIT, "€10 credit", Money(1000, EUR), code="C10"
)
MSISDN = "+32470123456"


def _plan(**changes: Any) -> Plan:
    base: dict[str, Any] = {
        "id": "p",
        "network_id": "proximus",
        "kind": PlanKind.BUNDLE,
        "name": "bundle",
        "price": Money(999, EUR),
        "data_mb": 5120,
        "validity_days": 7,
    }
    base.update(changes)
    return Plan(**base)


# --- catalogue --------------------------------------------------------------------------------------------


def test_a_valid_bundle_and_an_unlimited_bundle() -> None:
    assert _plan().data_mb == 5120
    unlimited = _plan(data_mb=None, unlimited=True, fair_use_mb=102_400)
    assert unlimited.unlimited
    assert unlimited.fair_use_mb == 102_400


@pytest.mark.parametrize(
    "changes",
    [
        {"price": Money(0, EUR)},
        {"price": Money(-100, EUR)},
        {"validity_days": None},
        {"validity_days": 0},
        {"data_mb": None},
        {"data_mb": 0},
        {"data_mb": None, "unlimited": True},
        {"data_mb": 100, "unlimited": True, "fair_use_mb": 1000},
        {"fair_use_mb": 1000},
        {"kind": PlanKind.CREDIT},
        {"kind": PlanKind.CREDIT, "data_mb": None, "unlimited": True},
        {"kind": PlanKind.CREDIT, "data_mb": None, "fair_use_mb": 10},
        {"id": ""},
        {"network_id": ""},
    ],
)
def test_invalid_plans(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as info:
        _plan(**changes)
    assert info.value.code == "invalid_plan"


def test_credit_plan_may_have_a_validity() -> None:
    plan = _plan(kind=PlanKind.CREDIT, data_mb=None, validity_days=None)
    assert plan.kind == PlanKind.CREDIT
    assert _plan(kind=PlanKind.CREDIT, data_mb=None, validity_days=30).validity_days == 30


@pytest.mark.parametrize("commission_bp", [-1, 10_001])
def test_network_commission_is_bounded(commission_bp: int) -> None:
    with pytest.raises(InvalidInput) as info:
        Network("x", "X", NetworkKind.HOSTED, commission_bp)
    assert info.value.code == "invalid_network"


def test_enums_are_strings() -> None:
    assert str(NetworkKind.HOSTED) == "hosted"
    assert NetworkKind("hosted") is NetworkKind.HOSTED
    assert PlanKind("bundle") is PlanKind.BUNDLE


def test_belgian_demo_catalogue() -> None:
    assert [(n.id, n.name) for n in BELGIAN_DEMO_NETWORKS] == [
        ("proximus", "Proximus"),
        ("orange", "Orange Belgium"),
        ("base", "BASE"),
        ("telenet", "Telenet"),
    ]
    assert all(n.kind == NetworkKind.EXTERNAL and n.commission_bp == 500 for n in BELGIAN_DEMO_NETWORKS)
    index = plans_by_id(BELGIAN_DEMO_PLANS)
    assert len(index) == len(BELGIAN_DEMO_PLANS) == 4 * 10
    for network in BELGIAN_DEMO_NETWORKS:
        credits = sorted(
            p.price.amount_minor
            for p in BELGIAN_DEMO_PLANS
            if p.network_id == network.id and p.kind == PlanKind.CREDIT
        )
        assert credits == [500, 1000, 1500, 2000, 2500, 5000]
    assert index["proximus-credit-10"].code == "C10"
    day = index["orange-data-1d-1gb"]
    assert (day.price, day.validity_days, day.name) == (Money(299, EUR), 1, "1 day 1 GB")
    assert index["base-data-7d-5gb"].price == Money(999, EUR)
    assert index["telenet-data-30d-20gb"].price == Money(1999, EUR)
    unlimited = index["proximus-data-30d-unlimited"]
    assert (unlimited.unlimited, unlimited.fair_use_mb, unlimited.price) == (True, 102_400, Money(3999, EUR))
    assert all(p.price.currency == EUR and p.active for p in BELGIAN_DEMO_PLANS)


def test_plan_lookup() -> None:
    index = plans_by_id(BELGIAN_DEMO_PLANS)
    assert find_plan(index, "base-credit-5").price == Money(500, EUR)
    with pytest.raises(NotFound) as info:
        find_plan(index, "nope")
    assert info.value.code == "plan_not_found"
    with pytest.raises(InvalidInput):
        plans_by_id([CREDIT_10, CREDIT_10])


# --- quotes -----------------------------------------------------------------------------------------------


def test_quote_of_a_ten_euro_credit() -> None:
    quote = make_quote(CREDIT_10, PROXIMUS, MSISDN, guessed_network="proximus")
    assert quote.total == quote.price == quote.face_value == Money(1000, EUR)
    assert quote.discount == Money(0, EUR)
    assert (quote.net, quote.vat, quote.vat_rate_bp) == (Money(826, EUR), Money(174, EUR), 2100)
    assert quote.commission == Money(41, EUR)  # 826 * 5 % = 41.3
    assert quote.carrier_amount == Money(785, EUR)
    assert (quote.plan_id, quote.network_id, quote.msisdn) == ("proximus-credit-10", "proximus", MSISDN)


def test_commission_rounds_half_even() -> None:
    assert commission_of(Money(50, EUR), 500) == Money(2, EUR)  # 2.5 -> 2
    assert commission_of(Money(70, EUR), 500) == Money(4, EUR)  # 3.5 -> 4
    assert commission_of(Money(826, EUR), 0) == Money(0, EUR)


def test_inactive_plan_is_not_available() -> None:
    with pytest.raises(NotFound) as info:
        make_quote(replace(CREDIT_10, active=False), PROXIMUS, MSISDN, guessed_network=None)
    assert info.value.code == "plan_not_available"


def test_plan_of_another_network_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        make_quote(CREDIT_10, ORANGE, MSISDN, guessed_network=None)
    assert info.value.code == "invalid_plan"


def test_network_mismatch_until_confirmed() -> None:
    with pytest.raises(Conflict) as info:
        make_quote(CREDIT_10, PROXIMUS, "+32496123456", guessed_network="orange")
    assert (info.value.code, info.value.field) == ("network_mismatch", "msisdn")
    assert "orange" in info.value.message
    assert "ported" in info.value.message
    confirmed = make_quote(
        CREDIT_10, PROXIMUS, "+32496123456", guessed_network="orange", network_confirmed=True
    )
    assert confirmed.network_id == "proximus"
    assert make_quote(CREDIT_10, PROXIMUS, MSISDN, guessed_network=None).network_id == "proximus"


def test_telenet_guess_does_not_contradict_a_base_plan() -> None:
    base = Network("base", "BASE", NetworkKind.EXTERNAL, 500)
    plan = replace(CREDIT_10, id="base-credit-10", network_id="base")
    assert make_quote(plan, base, "+32485123456", guessed_network="telenet").network_id == "base"
    assert networks_compatible("base", "telenet")
    assert not networks_compatible("telenet", "proximus")


@given(
    cents=st.integers(min_value=1, max_value=10**9),
    commission_bp=st.integers(min_value=0, max_value=10_000),
    kind=st.sampled_from(list(PlanKind)),
)
def test_quote_parts_always_add_up(cents: int, commission_bp: int, kind: PlanKind) -> None:
    network = Network("n", "N", NetworkKind.HOSTED, commission_bp)
    plan = Plan(
        "p",
        "n",
        kind,
        "p",
        Money(cents, EUR),
        data_mb=1 if kind == PlanKind.BUNDLE else None,
        validity_days=1 if kind == PlanKind.BUNDLE else None,
    )
    quote = make_quote(plan, network, MSISDN, guessed_network=None)
    assert quote.net + quote.vat == quote.total == quote.price - quote.discount
    assert quote.commission + quote.carrier_amount == quote.net
    assert abs(Decimal(quote.vat.amount_minor) - Decimal(cents) * 21 / 121) <= Decimal("0.5")
    assert abs(
        Decimal(quote.commission.amount_minor) - Decimal(quote.net.amount_minor) * commission_bp / 10_000
    ) <= Decimal("0.5")
    assert quote.carrier_amount.amount_minor >= 0
    assert Quote.from_dict(json.loads(json.dumps(quote.to_dict()))) == quote


def test_quote_dict_is_json_ready() -> None:
    data = make_quote(CREDIT_10, PROXIMUS, MSISDN, guessed_network=None).to_dict()
    assert data["total"] == {"amount_minor": 1000, "currency": "EUR"}
    assert data["vat_rate_bp"] == 2100
    assert json.loads(json.dumps(data)) == data


def test_the_network_kind_is_frozen_into_the_quote_and_older_quotes_still_read() -> None:
    data = make_quote(CREDIT_10, PROXIMUS, MSISDN, guessed_network=None).to_dict()
    assert data["network_kind"] == "external"
    del data["network_kind"]  # an order stored before the kind was frozen
    assert Quote.from_dict(data).network_kind is None
    with pytest.raises(InvalidInput):
        Quote.from_dict({**data, "network_kind": 1})


def test_the_carrier_product_is_frozen_into_the_quote_and_older_quotes_still_read() -> None:
    quote = make_quote(CREDIT_10, PROXIMUS, MSISDN, guessed_network=None)
    frozen = replace(quote, carrier_route="gateway", carrier_product="PX-DATA-5GB-7D")
    data = json.loads(json.dumps(frozen.to_dict()))
    assert (data["carrier_route"], data["carrier_product"]) == ("gateway", "PX-DATA-5GB-7D")
    assert Quote.from_dict(data) == frozen
    older = {k: v for k, v in data.items() if k not in {"carrier_route", "carrier_product"}}
    assert Quote.from_dict(older) == quote  # an order stored before products were frozen
    assert (quote.carrier_route, quote.carrier_product) == (None, None)
    with pytest.raises(InvalidInput):
        Quote.from_dict({**data, "carrier_product": 5})


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d.pop("vat"),
        lambda d: d.update(vat={"amount_minor": 175, "currency": "EUR"}),
        lambda d: d.update(vat={"amount_minor": "174", "currency": "EUR"}),
        lambda d: d.update(vat=174),
        lambda d: d.update(commission={"amount_minor": 41, "currency": "CNY"}),
        lambda d: d.update(total={"amount_minor": 999, "currency": "EUR"}),
        lambda d: d.update(vat_rate_bp="2100"),
        lambda d: d.update(msisdn=None),
    ],
)
def test_quote_from_dict_refuses_corrupt_data(corrupt: Any) -> None:
    data = make_quote(CREDIT_10, PROXIMUS, MSISDN, guessed_network=None).to_dict()
    corrupt(data)
    with pytest.raises(InvalidInput) as info:
        Quote.from_dict(data)
    assert info.value.code == "invalid_quote"


def test_plan_period_and_what_can_be_bought_from_credit() -> None:
    from topup.domain.catalogue import (  # noqa: PLC0415
        BELGIAN_DEMO_NETWORKS,
        BELGIAN_DEMO_PLANS,
        buyable_from_credit,
        plan_period,
    )
    from topup.domain.esim_catalogue import ESIM_NETWORK, ESIM_PLANS  # noqa: PLC0415

    periods = {p.id: plan_period(p) for p in BELGIAN_DEMO_PLANS if p.network_id == "proximus"}
    assert periods["proximus-credit-10"] is None
    assert periods["proximus-data-1d-1gb"] == "day"
    assert periods["proximus-data-7d-5gb"] == "week"
    assert periods["proximus-data-30d-20gb"] == "month"
    assert periods["proximus-data-30d-unlimited"] == "unlimited"
    proximus = BELGIAN_DEMO_NETWORKS[0]
    by_id = {p.id: p for p in BELGIAN_DEMO_PLANS}
    assert buyable_from_credit(by_id["proximus-data-7d-5gb"], proximus)
    assert not buyable_from_credit(by_id["proximus-credit-10"], proximus)
    assert not buyable_from_credit(ESIM_PLANS[0], ESIM_NETWORK)
