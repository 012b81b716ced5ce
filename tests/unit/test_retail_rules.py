"""Commission (the most specific rule wins), change, void windows, and the terminal signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from topup.domain import retail as rules
from topup.domain.errors import DomainError
from topup.domain.money import Money
from topup.domain.terminal_signing import SignatureRefused, SignedRequest, check_fresh, sign, verify

EUR = "EUR"


def test_the_most_specific_commission_wins() -> None:
    table = [
        rules.CommissionRule(100),
        rules.CommissionRule(300, network_id="proximus"),
        rules.CommissionRule(500, plan_id="proximus-credit-10"),
    ]
    assert rules.commission_bp(table, "proximus", "proximus-credit-10") == 500
    assert rules.commission_bp(table, "proximus", "proximus-credit-15") == 300
    assert rules.commission_bp(table, "orange", "orange-credit-10") == 100
    assert rules.commission_bp([], "orange", "orange-credit-10") == 0
    assert rules.commission_of(Money(999, EUR), 300) == Money(29, EUR)  # rounded down: 29.97 cents


def test_a_commission_out_of_range_is_refused() -> None:
    with pytest.raises(DomainError):
        rules.CommissionRule(5001)


def test_change_is_given_for_cash_only() -> None:
    assert rules.change_due(Money(1500, EUR), rules.TenderKind.CASH, Money(2000, EUR)) == Money(500, EUR)
    assert rules.change_due(Money(1500, EUR), rules.TenderKind.CARD, Money(2000, EUR)) is None
    with pytest.raises(DomainError) as short:
        rules.change_due(Money(1500, EUR), rules.TenderKind.CASH, Money(1000, EUR))
    assert short.value.code == "cash_given_too_small"


def test_a_pin_is_voided_while_unused_within_72_hours() -> None:
    sold = datetime(2026, 12, 4, 12, tzinfo=UTC)
    rules.check_pin_voidable(sold, sold + timedelta(hours=72), "active")
    for later, state, expected in (
        (timedelta(hours=72, seconds=1), "active", "void_window_passed"),
        (timedelta(minutes=1), "redeemed", "voucher_already_used"),
        (timedelta(minutes=1), "void", "sale_not_voidable"),
    ):
        with pytest.raises(DomainError) as refused:
            rules.check_pin_voidable(sold, sold + later, state)
        assert refused.value.code == expected


def test_a_direct_top_up_is_voided_only_before_the_carrier_has_it() -> None:
    rules.check_direct_voidable("paid")
    for status in ("delivering", "delivered", "refunded"):
        with pytest.raises(DomainError):
            rules.check_direct_voidable(status)


def test_signatures_cover_method_path_time_nonce_and_body() -> None:
    request = SignedRequest("POST", "/api/v1/pos/sales", "1764849600", "n" * 16, b'{"a":1}')
    signature = sign("s3cret", request)
    verify("s3cret", signature, request)
    for changed in (
        SignedRequest("GET", request.path_and_query, request.timestamp, request.nonce, request.body),
        SignedRequest("POST", "/api/v1/pos/sales?x=1", request.timestamp, request.nonce, request.body),
        SignedRequest("POST", request.path_and_query, "1764849601", request.nonce, request.body),
        SignedRequest("POST", request.path_and_query, request.timestamp, "m" * 16, request.body),
        SignedRequest("POST", request.path_and_query, request.timestamp, request.nonce, b'{"a":2}'),
    ):
        with pytest.raises(SignatureRefused):
            verify("s3cret", signature, changed)
    with pytest.raises(SignatureRefused):
        verify("other", signature, request)


def test_timestamps_and_nonces_are_checked_before_any_key() -> None:
    check_fresh("1000", "a" * 16, 1300)
    for timestamp, nonce, now_s, expected in (
        ("1000", "a" * 16, 1301, "stale_timestamp"),
        ("1301", "a" * 16, 1000, "stale_timestamp"),
        ("12a", "a" * 16, 1000, "invalid_timestamp"),
        ("1000", "a" * 15, 1000, "invalid_nonce"),
        ("1000", "a" * 65, 1000, "invalid_nonce"),
    ):
        with pytest.raises(SignatureRefused) as refused:
            check_fresh(timestamp, nonce, now_s)
        assert refused.value.code == expected


def test_a_sale_and_its_void_leave_every_account_as_it_was() -> None:
    from topup.domain import ledger  # noqa: PLC0415

    price, commission = Money(1000, EUR), Money(30, EUR)
    sold = ledger.retail_sale("sale_1", "rtl_1", "retail", price, commission)
    back = ledger.retail_sale_reversed("sale_1", "rtl_1", "retail", price, commission, code="retail_void")
    sale_totals = ledger.totals(sold)
    float_account = ledger.retailer_float("rtl_1").id
    assert sale_totals[float_account] == (1000, 30)  # the float pays the price, gets the commission
    assert len({p.transfer_id for p in sold + back}) == 4
    for debits, credits in ledger.totals(sold + back).values():
        assert debits == credits
    assert ledger.retail_sale("sale_2", "rtl_1", "voucher", price, Money(0, EUR))[0].credit.id == (
        "provider_clearing:voucher:EUR"
    )
