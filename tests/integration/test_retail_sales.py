"""Shop sales against the float: direct top-ups and PINs, replays, the credit limit, the ledger."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support.retail import float_of
from tests.support.retail import shop as retail_shop
from topup.db import ledger
from topup.db.models import Order, Retailer, Sale, Voucher
from topup.domain import ledger as postings
from topup.domain.errors import Conflict
from topup.services import vouchers
from topup.services.retail import SaleRequest, sell

pytestmark = pytest.mark.django_db(transaction=True)


def shop(float_minor: int = 10_000, credit_minor: int = 0) -> str:
    return retail_shop(float_minor, credit_minor)[0][0]


def test_a_direct_sale_takes_the_price_less_commission_and_is_delivered(
    seeded: None, carriers: Carriers
) -> None:
    terminal = shop()
    request = SaleRequest(
        "r-1", "proximus-credit-10", "direct", msisdn="0470 12 34 56", cash_given_minor=2000
    )
    first = sell(terminal, request)
    assert first.status == 201
    assert first.document["change"]["amount_minor"] == 1000  # type: ignore[index]
    assert float_of(terminal) == 10_000 - 1000 + 30
    again = sell(terminal, request)
    assert again.status == 200
    assert again.document == first.document
    assert float_of(terminal) == 10_000 - 1000 + 30
    with pytest.raises(Conflict) as refused:
        sell(terminal, SaleRequest("r-1", "proximus-credit-10", "direct", msisdn="0470 12 34 57"))
    assert refused.value.code == "terminal_ref_conflict"
    run_jobs_until_idle()
    sale = Sale.objects.get(terminal_ref="r-1")
    assert Order.objects.get(id=sale.order_id).status == "delivered"
    assert all(t.balanced for t in ledger.trial_balance())
    assert ledger.balance_of(postings.retailer_float(sale.retailer_id).id) == float_of(terminal)
    assert ledger.balance_of("provider_clearing:retail:EUR") == 0


def test_a_pin_sale_prints_a_pin_that_redeems(seeded: None, carriers: Carriers) -> None:
    terminal = shop()
    sold = sell(terminal, SaleRequest("p-1", "proximus-credit-10", "pin", tender="card"))
    pin = sold.document["pin"]["pin"]  # type: ignore[index]
    serial = sold.document["pin"]["serial"]  # type: ignore[index]
    assert pin
    assert Voucher.objects.get(id=serial).state == "active"
    with connection.cursor() as cursor:  # as stored: sealed, never the PIN itself
        cursor.execute("SELECT response, pin FROM retail_sale")
        stored = cursor.fetchall()
    assert pin not in str(stored)
    order = vouchers.redeem(pin, msisdn="+32470123456", channel="sms", caller_keys=["line:+32470123456"])
    run_jobs_until_idle()
    assert Order.objects.get(id=order["id"]).status == "delivered"
    assert all(t.balanced for t in ledger.trial_balance())
    assert ledger.balance_of("provider_clearing:voucher:EUR") == 0


def test_a_sale_beyond_float_and_credit_is_refused_and_changes_nothing(seeded: None) -> None:
    terminal = shop(float_minor=500, credit_minor=600)
    sell(terminal, SaleRequest("a", "proximus-credit-10", "pin"))  # 500 - 970 = -470 >= -600
    with pytest.raises(Conflict) as refused:
        sell(terminal, SaleRequest("b", "proximus-credit-10", "pin"))
    assert refused.value.code == "float_insufficient"
    assert float_of(terminal) == 500 - 970
    assert Sale.objects.count() == 1
    assert Voucher.objects.count() == 1


def test_a_bank_transfer_credits_the_float_once(seeded: None) -> None:
    from topup.domain.errors import DomainError  # noqa: PLC0415
    from topup.services import retail_admin  # noqa: PLC0415

    retailer = retail_admin.create_retailer("Nachtwinkel Noord")
    first, new = retail_admin.float_topup(retailer.id, 5_000, bank_reference=" BANK-9 ", recorded_by="staff")
    assert new
    assert retail_admin.float_topup(retailer.id, 5_000, bank_reference="BANK-9", recorded_by="x") == (
        first,
        False,
    )
    with pytest.raises(DomainError) as other:
        retail_admin.float_topup(retailer.id, 6_000, bank_reference="BANK-9", recorded_by="staff")
    assert other.value.code == "bank_reference_used"
    with pytest.raises(DomainError) as negative:
        retail_admin.float_topup(retailer.id, -1, bank_reference="BANK-10", recorded_by="staff")
    assert negative.value.code == "invalid_amount"
    assert Retailer.objects.get(id=retailer.id).float_minor == 5_000
    assert ledger.balance_of(postings.retailer_float(retailer.id).id) == 5_000
    assert ledger.balance_of("bank_clearing:EUR") == 5_000
