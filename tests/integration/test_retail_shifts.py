"""A shift with sales, change, a void and a refund: X equals the Z that closes it; a Z never changes."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support.retail import shop
from topup.db.models import Shift, Terminal
from topup.domain.errors import DomainError
from topup.services import shifts
from topup.services.retail import SaleRequest, sell
from topup.services.retail_voids import void

pytestmark = pytest.mark.django_db(transaction=True)
PLAN = "proximus-credit-10"


def test_x_equals_z_and_a_closed_z_never_changes(seeded: None, carriers: Carriers) -> None:
    [(terminal_id, _)] = shop(opening_float_minor=5_000)
    terminal = Terminal.objects.select_related("retailer").get(id=terminal_id)
    sell(terminal_id, SaleRequest("s-1", PLAN, "pin", cash_given_minor=5_000))  # €50 note, €40 change
    sell(terminal_id, SaleRequest("s-2", PLAN, "pin", tender="card"))
    sell(terminal_id, SaleRequest("s-3", PLAN, "pin", cash_given_minor=1_000))
    void(terminal_id, "s-3")  # cash back to the customer
    # A cash top-up the carrier refuses for good: refunded to the float, the cash handed back.
    sell(terminal_id, SaleRequest("s-4", PLAN, "direct", msisdn="+32470000001", network_confirmed=True))
    run_jobs_until_idle()
    x = shifts.x_report(terminal)["report"]
    assert isinstance(x, dict)
    assert x["cash_received_minor"] == 5_000 + 1_000 + 1_000
    assert x["change_given_minor"] == 4_000
    assert (x["cash_voids_minor"], x["cash_refunds_minor"], x["card_sales_minor"]) == (1_000, 1_000, 1_000)
    assert x["expected_cash_minor"] == 5_000 + 1_000  # the opening float and the one cash sale kept
    z = shifts.close(terminal, counted_cash_minor=5_950, reason="a 50 cent coin short")
    report = z["report"]
    assert isinstance(report, dict)
    assert {
        **x,
        "counted_cash_minor": 5_950,
        "variance_minor": -50,
        "variance_reason": "a 50 cent coin short",
    } == report
    shift = Shift.objects.get(id=z["shift_id"])
    assert shift.z_report == z
    with pytest.raises(DomainError) as second:
        shifts.close(terminal, counted_cash_minor=6_000)
    assert second.value.code == "shift_not_open"
    shift.counted_cash_minor = 6_000
    with pytest.raises(DomainError) as changed:
        shift.save()
    assert changed.value.code == "shift_closed"
    with pytest.raises(DomainError) as no_shift:
        sell(terminal_id, SaleRequest("s-5", PLAN, "pin"))
    assert no_shift.value.code == "shift_not_open"
    following = shifts.open_shift(terminal, opened_by="Bram")
    assert following.opening_float_minor == 5_950  # the counted cash carried to the next shift
    assert Shift.objects.get(id=z["shift_id"]).z_report == z


def test_a_refund_after_the_close_goes_to_the_next_shift(seeded: None, carriers: Carriers) -> None:
    [(terminal_id, _)] = shop(opening_float_minor=0)
    terminal = Terminal.objects.select_related("retailer").get(id=terminal_id)
    sell(terminal_id, SaleRequest("r-1", PLAN, "direct", msisdn="+32470000001", network_confirmed=True))
    z = shifts.close(terminal, counted_cash_minor=1_000)
    run_jobs_until_idle()  # the carrier refuses it now: the refund comes with no shift open
    assert Shift.objects.get(id=z["shift_id"]).z_report == z
    shifts.open_shift(terminal, opened_by="Bram")
    x = shifts.x_report(terminal)["report"]
    assert isinstance(x, dict)
    assert x["cash_refunds_minor"] == 1_000
    assert x["expected_cash_minor"] == 0
