"""Ledger accounts, postings and an order's money moves, checked against a small independent model."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.errors import LedgerError
from topup.domain.ledger import (
    AccountSpec,
    AccountType,
    Posting,
    TransferStatus,
    carrier_payable,
    commission_revenue,
    delivery_confirmed,
    holds_taken,
    line_credit,
    normal_side,
    orders_in_flight,
    payment_captured,
    promotion_expense,
    provider_clearing,
    refund_issued,
    resolve_pending,
    totals,
    vat_payable,
    would_overdraw,
)
from topup.domain.money import Money
from topup.domain.quotes import Quote, make_quote

EUR = "EUR"


def _quote(cents: int = 1000, commission_bp: int = 500, network_id: str = "proximus") -> Quote:
    network = Network(network_id, network_id, NetworkKind.EXTERNAL, commission_bp)
    plan = Plan(f"{network_id}-credit", network_id, PlanKind.CREDIT, "credit", Money(cents, EUR))
    return make_quote(plan, network, "+32470123456", guessed_network=None)


def test_normal_sides() -> None:
    assert [normal_side(t) for t in AccountType] == ["debit", "credit", "credit", "debit", "credit"]


def test_account_specs() -> None:
    clearing = provider_clearing("stripe")
    assert (clearing.id, clearing.type, clearing.currency, clearing.no_overdraft) == (
        "provider_clearing:stripe:EUR", AccountType.ASSET, EUR, False,
    )  # fmt: skip
    assert provider_clearing("sandbox", "CNY").id == "provider_clearing:sandbox:CNY"
    held = orders_in_flight()
    assert (held.id, held.type, held.no_overdraft, held.per_order) == (
        "orders_in_flight:EUR", AccountType.LIABILITY, False, True,
    )  # fmt: skip
    assert carrier_payable("orange").id == "carrier_payable:orange:EUR"
    assert carrier_payable("orange").type == AccountType.LIABILITY
    assert (vat_payable().id, vat_payable().type) == ("vat_payable:EUR", AccountType.LIABILITY)
    assert (commission_revenue().id, commission_revenue().type) == (
        "commission_revenue:EUR",
        AccountType.REVENUE,
    )
    assert (promotion_expense().id, promotion_expense().type) == (
        "promotion_expense:EUR",
        AccountType.EXPENSE,
    )
    assert (line_credit("ln_01").id, line_credit("ln_01").no_overdraft) == ("line_credit:ln_01:EUR", True)


@pytest.mark.parametrize("bad", ["", "a:b", "Stripe", "a b"])
def test_account_keys_cannot_break_the_id_format(bad: str) -> None:
    with pytest.raises(LedgerError) as info:
        provider_clearing(bad)
    assert info.value.code == "invalid_account"


def test_would_overdraw() -> None:
    liability = line_credit("ln_1")
    assert would_overdraw(liability, debits=101, credits=100)
    assert not would_overdraw(liability, debits=100, credits=100)
    asset = AccountSpec("a", "a", AccountType.ASSET, EUR, no_overdraft=True)
    assert would_overdraw(asset, debits=100, credits=101)
    assert not would_overdraw(asset, debits=101, credits=100)
    assert not would_overdraw(provider_clearing("stripe"), debits=0, credits=10**9)


@pytest.mark.parametrize(
    ("debit", "credit", "amount", "transfer_id"),
    [
        (provider_clearing("s"), line_credit("ln_1"), Money(0, EUR), "t"),
        (provider_clearing("s"), line_credit("ln_1"), Money(-1, EUR), "t"),
        (provider_clearing("s"), line_credit("ln_1"), Money(1, "CNY"), "t"),
        (provider_clearing("s", "CNY"), line_credit("ln_1"), Money(1, "CNY"), "t"),
        (line_credit("ln_1"), line_credit("ln_1"), Money(1, EUR), "t"),
        (provider_clearing("s"), line_credit("ln_1"), Money(1, EUR), ""),
        (provider_clearing("s"), orders_in_flight(), Money(1, EUR), "t"),  # money in flight for no order
    ],
)
def test_invalid_postings(debit: AccountSpec, credit: AccountSpec, amount: Money, transfer_id: str) -> None:
    with pytest.raises(LedgerError) as info:
        Posting(transfer_id, debit, credit, amount, "code")
    assert info.value.code == "invalid_posting"


def test_an_order_is_named_exactly_when_money_in_flight_moves() -> None:
    with pytest.raises(LedgerError) as info:
        Posting("t", provider_clearing("s"), line_credit("ln_1"), Money(1, EUR), "code", hold="ord_1")
    assert info.value.code == "invalid_posting"
    held = Posting("t", provider_clearing("s"), orders_in_flight(), Money(1, EUR), "code", hold="ord_1")
    assert held.hold == "ord_1"


def test_holds_taken_are_what_leaves_each_order_net() -> None:
    quote = _quote()
    assert holds_taken(payment_captured("ord_1", "stripe", quote)) == {}
    assert holds_taken(delivery_confirmed("ord_1", quote)) == {"ord_1": 1000}
    both = refund_issued("ord_1", "stripe", quote) + payment_captured("ord_2", "stripe", quote)
    assert holds_taken(both) == {"ord_1": 1000}
    assert holds_taken(payment_captured("ord_3", "s", quote) + refund_issued("ord_3", "s", quote)) == {}


def test_capture_delivery_and_refund_postings() -> None:
    quote = _quote()
    [capture] = payment_captured("ord_1", "stripe", quote)
    assert (capture.transfer_id, capture.debit.id, capture.credit.id, capture.amount) == (
        "ord_1:capture", "provider_clearing:stripe:EUR", "orders_in_flight:EUR", Money(1000, EUR),
    )  # fmt: skip
    delivery = delivery_confirmed("ord_1", quote)
    assert [(p.transfer_id, p.debit.id, p.credit.id, p.amount.amount_minor) for p in delivery] == [
        ("ord_1:deliver:carrier", "orders_in_flight:EUR", "carrier_payable:proximus:EUR", 785),
        ("ord_1:deliver:vat", "orders_in_flight:EUR", "vat_payable:EUR", 174),
        ("ord_1:deliver:commission", "orders_in_flight:EUR", "commission_revenue:EUR", 41),
    ]
    assert {p.hold for p in [capture, *delivery]} == {"ord_1"}
    [refund] = refund_issued("ord_1", "stripe", quote)
    assert (refund.transfer_id, refund.debit.id, refund.credit.id, refund.amount) == (
        "ord_1:refund", "orders_in_flight:EUR", "provider_clearing:stripe:EUR", Money(1000, EUR),
    )  # fmt: skip


def test_zero_commission_is_skipped() -> None:
    delivery = delivery_confirmed("ord_2", _quote(commission_bp=0))
    assert [p.transfer_id for p in delivery] == ["ord_2:deliver:carrier", "ord_2:deliver:vat"]


def test_unbalanced_delivery_is_refused() -> None:
    quote = _quote()
    forged = object.__new__(Quote)  # bypasses the quote's own invariants, as corrupt stored data could
    for name in Quote.__slots__:
        object.__setattr__(forged, name, getattr(quote, name))
    object.__setattr__(forged, "commission", Money(40, EUR))
    with pytest.raises(LedgerError) as info:
        delivery_confirmed("ord_3", forged)
    assert info.value.code == "unbalanced_delivery"


@pytest.mark.parametrize(
    ("action", "result"), [("post", TransferStatus.POSTED), ("void", TransferStatus.VOIDED)]
)
def test_pending_transfer_resolves_exactly_once(action: str, result: TransferStatus) -> None:
    assert resolve_pending(TransferStatus.PENDING, action) == result
    for status in (TransferStatus.POSTED, TransferStatus.VOIDED):
        for again in ("post", "void"):
            with pytest.raises(LedgerError) as info:
                resolve_pending(status, again)
            assert info.value.code == "transfer_already_resolved"


def test_unknown_action_is_refused() -> None:
    with pytest.raises(LedgerError) as info:
        resolve_pending(TransferStatus.PENDING, "undo")
    assert info.value.code == "invalid_transfer_action"


order_specs = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=100_000),  # price in cents
        st.integers(min_value=0, max_value=10_000),  # commission bp
        st.sampled_from(["proximus", "orange", "base"]),
        st.sampled_from(["stripe", "sandbox"]),
        st.sampled_from(["delivered", "refunded", "in_flight"]),
    ),
    max_size=20,
)


@given(orders=order_specs)
def test_order_postings_balance_and_never_overdraw(orders: list[tuple[int, int, str, str, str]]) -> None:
    postings: list[Posting] = []
    model: dict[str, int] = defaultdict(int)  # independent oracle: signed debit-minus-credit per account
    held = 0
    by_order: dict[str, int] = defaultdict(int)  # oracle of each order's money in flight
    for number, (cents, bp, network, provider, outcome) in enumerate(orders):
        quote = _quote(cents, bp, network)
        order_postings = payment_captured(f"ord_{number}", provider, quote)
        if outcome == "delivered":
            order_postings += delivery_confirmed(f"ord_{number}", quote)
        elif outcome == "refunded":
            order_postings += refund_issued(f"ord_{number}", provider, quote)
        else:
            held += cents
        for posting in order_postings:
            postings.append(posting)
            model[posting.debit.id] += posting.amount.amount_minor
            model[posting.credit.id] -= posting.amount.amount_minor
            sums = totals(postings)
            for spec in (posting.debit, posting.credit):
                assert not would_overdraw(spec, *sums[spec.id])
            if posting.credit.per_order or posting.debit.per_order:
                sign = 1 if posting.credit.per_order else -1
                by_order[posting.hold] += sign * posting.amount.amount_minor
                assert by_order[posting.hold] >= 0, f"{posting.hold} overdrawn in flight"
    assert len({p.transfer_id for p in postings}) == len(postings)
    assert sum(model.values()) == 0
    sums = totals(postings)
    assert {account: d - c for account, (d, c) in sums.items()} == dict(model)
    debits, credits = sums.get(orders_in_flight().id, (0, 0))
    assert credits - debits == held == sum(by_order.values())


def test_overdraw_is_detected_when_delivering_without_capture() -> None:
    delivery = delivery_confirmed("ord_9", _quote())
    assert holds_taken(delivery) == {"ord_9": 1000}  # the ledger refuses it: ord_9 holds nothing


def test_zero_total_orders_capture_nothing_and_promotion_expense_pays_the_carrier() -> None:
    from topup.domain.promotion_rules import discounted  # noqa: PLC0415
    from topup.domain.promotions import AppliedPromotion  # noqa: PLC0415

    quote = _quote()
    free = discounted(quote, [AppliedPromotion("cmp_1", "percent", "All free", quote.price)])
    assert free.total == Money(0, EUR)
    assert payment_captured("ord_0", "stripe", free) == []
    assert refund_issued("ord_0", "stripe", free) == []
    delivery = delivery_confirmed("ord_0", free)
    sums = totals(delivery)
    assert sums["orders_in_flight:EUR"][0] == sums["orders_in_flight:EUR"][1]  # in flight stays at zero
    assert holds_taken(delivery) == {}
    assert sums["promotion_expense:EUR"] == (quote.net.amount_minor, 0)
    assert sums[f"carrier_payable:{quote.network_id}:EUR"] == (0, quote.carrier_amount.amount_minor)
    assert sums["commission_revenue:EUR"] == (0, quote.commission.amount_minor)
    assert "vat_payable:EUR" not in sums


def test_a_reversed_delivery_puts_every_leg_back_in_flight() -> None:
    from topup.domain.ledger import delivery_reversed  # noqa: PLC0415

    quote = _quote()
    both = delivery_confirmed("ord_7", quote) + delivery_reversed("ord_7", quote)
    assert all(debits == credits for debits, credits in totals(both).values())
    assert {p.transfer_id for p in delivery_reversed("ord_7", quote)} == {
        "ord_7:undeliver:carrier", "ord_7:undeliver:vat", "ord_7:undeliver:commission",
    }  # fmt: skip
