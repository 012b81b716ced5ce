"""Voids and refunds of shop sales: what may be voided, and the money back on the float, once."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support.retail import float_of, shop
from topup.channels import sms
from topup.db import ledger
from topup.db.models import Order, Sale, Voucher
from topup.domain import ledger as postings
from topup.domain.errors import DomainError
from topup.services import retail_receipts, vouchers
from topup.services.retail import SaleRequest, sell
from topup.services.retail_voids import void

pytestmark = pytest.mark.django_db(transaction=True)
PLAN = "proximus-credit-10"


def balanced(terminal: str) -> None:
    assert all(t.balanced for t in ledger.trial_balance())
    retailer_id = Sale.objects.filter(terminal_id=terminal).values_list("retailer_id", flat=True).first()
    assert ledger.balance_of(postings.retailer_float(str(retailer_id)).id) == float_of(terminal)


def test_a_direct_top_up_is_voided_until_a_worker_sends_it(seeded: None, carriers: Carriers) -> None:
    [(terminal, _)] = shop()
    before = carriers.balance_minor("proximus", "+32470123456")
    sell(terminal, SaleRequest("d-1", PLAN, "direct", msisdn="+32470123456"))
    voided = void(terminal, "d-1")
    assert voided["status"] == "voided"
    assert float_of(terminal) == 10_000
    assert void(terminal, "d-1")["status"] == "voided"  # asked again: the same answer, nothing moves twice
    assert float_of(terminal) == 10_000
    order_id = Sale.objects.get(terminal_ref="d-1").order_id
    run_jobs_until_idle()
    assert Order.objects.get(id=order_id).status == "refunded"
    assert carriers.balance_minor("proximus", "+32470123456") == before  # never sent to the carrier
    sell(terminal, SaleRequest("d-2", PLAN, "direct", msisdn="+32470123456"))
    run_jobs_until_idle()
    with pytest.raises(DomainError) as refused:
        void(terminal, "d-2")
    assert refused.value.code == "sale_not_voidable"
    assert float_of(terminal) == 10_000 - 970
    balanced(terminal)


def test_an_undelivered_top_up_goes_back_to_the_float(seeded: None, carriers: Carriers) -> None:
    [(terminal, _)] = shop()
    # +32 470 00 00 01 was ported away from Proximus: the carrier refuses it for good.
    sell(terminal, SaleRequest("u-1", PLAN, "direct", msisdn="+32470000001", network_confirmed=True))
    run_jobs_until_idle()
    sale = Sale.objects.get(terminal_ref="u-1")
    assert sale.status == "refunded"
    assert retail_receipts.receipt_data(sale).kind == "refund"  # the return receipt the shop prints
    assert Order.objects.get(id=sale.order_id).status == "refunded"
    assert float_of(terminal) == 10_000
    balanced(terminal)
    assert ledger.balance_of("provider_clearing:retail:EUR") == 0


def test_a_printed_pin_redeems_once_over_sms_then_cannot_be_voided(seeded: None, carriers: Carriers) -> None:
    [(terminal, _)] = shop()
    sell(terminal, SaleRequest("p-1", PLAN, "pin", language="fr"))
    receipt = retail_receipts.render(Sale.objects.get(terminal_ref="p-1"), "text")[0]
    used = Sale.objects.get(terminal_ref="p-1").pin
    assert used in str(receipt)
    sms.handle_inbound("+32470123456", f"TOPUP {used}")
    sms.handle_inbound("+32470123457", f"TOPUP {used}")  # a second time: refused
    assert Order.objects.filter(channel="sms").count() == 1
    with pytest.raises(DomainError) as refused:
        void(terminal, "p-1")
    assert refused.value.code == "voucher_already_used"
    unused = sell(terminal, SaleRequest("p-2", PLAN, "pin")).document["pin"]["pin"]  # type: ignore[index]
    assert void(terminal, "p-2")["status"] == "voided"
    assert Voucher.objects.get(id=Sale.objects.get(terminal_ref="p-2").voucher_id).state == "void"
    sms.handle_inbound("+32470123458", f"TOPUP {unused}")
    assert Order.objects.filter(channel="sms").count() == 1  # the voided PIN no longer works
    with pytest.raises(DomainError) as dead:
        vouchers.redeem(unused, msisdn="+32470123456", channel="api", caller_keys=["line:+32470123456"])
    assert dead.value.code == "voucher_void"
    assert float_of(terminal) == 10_000 - 970
    run_jobs_until_idle()
    balanced(terminal)
    assert ledger.balance_of("provider_clearing:voucher:EUR") == 0


def test_another_terminals_sale_is_not_found(seeded: None) -> None:
    [(first, _), (second, _)] = shop(terminals=2)
    sell(first, SaleRequest("x-1", PLAN, "pin"))
    with pytest.raises(DomainError) as refused:
        void(second, "x-1")
    assert refused.value.code == "sale_not_found"
    assert Sale.objects.get(terminal_ref="x-1").status == "sold"
