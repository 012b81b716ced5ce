"""A voucher order the carrier refuses for good is refunded by giving the voucher back."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from topup.db import ledger
from topup.db.models import Order, Voucher
from topup.services import vouchers

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_voucher_top_up_gives_the_voucher_back(seeded: None, carriers: Carriers) -> None:
    _batch, [(serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    # +32 470 00 00 01 was ported away from Proximus: the carrier refuses it for good.
    order = vouchers.redeem(pin, msisdn="+32470000001", channel="api", caller_keys=["line:+32470000001"])
    run_jobs_until_idle()
    assert Order.objects.get(id=order["id"]).status == "refunded"
    assert Voucher.objects.get(id=serial).state == "active"
    assert all(t.balanced for t in ledger.trial_balance())
    again = vouchers.redeem(pin, msisdn="+32470123456", channel="api", caller_keys=["line:+32470123456"])
    run_jobs_until_idle()
    assert Order.objects.get(id=again["id"]).status == "delivered"
    assert Voucher.objects.get(id=serial).state == "redeemed"
