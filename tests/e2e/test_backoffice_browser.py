"""The back office in a real browser, in Chinese: a staff user signs in, opens the dashboard (charts drawn
by the server as SVG, no JavaScript needed), finds an order by `0470 12 34 56`, and opens the retailers
and the settlements. `node tests/browser/backoffice.mjs` (playwright-core driving Debian's chromium)
against Django's live server; screenshots go to artifacts/screenshots/backoffice-*.png.

The data is made through the services (vouchers redeemed on several channels and networks, a shop with
sales and a void, deliveries by the carrier simulator), then spread over the last days so that the
per-day chart has a shape. Skipped when chromium or node_modules are missing, except under CI=true.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.e2e.browser_stack import ARTIFACTS
from tests.e2e.browser_stack import require_browser as _require_browser
from tests.integration.conftest import (  # the integration suite's fixtures, used here as they are
    carriers,  # noqa: F401
    carriers_simulator,  # noqa: F401
    run_jobs_until_idle,
    seeded,  # noqa: F401
)
from tests.support.processes import ROOT
from tests.support.retail import shop
from topup.db.models import Order, OrderEvent
from topup.services import vouchers
from topup.services.retail import SaleRequest, sell
from topup.services.retail_voids import void

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCRIPT = ROOT / "tests" / "browser" / "backoffice.mjs"
PASSWORD = "correct horse battery staple"
SALES = (  # (network, plan, number, channel)
    ("proximus", "proximus-credit-10", "+32470123456", "sms"),
    ("proximus", "proximus-credit-20", "+32470223344", "web"),
    ("orange", "orange-credit-15", "+32495123456", "ussd"),
    ("base", "base-credit-10", "+32486123456", "ivr"),
    ("orange", "orange-credit-25", "+32495654321", "web"),
    ("proximus", "proximus-credit-5", "+32471999888", "sms"),
)


def _sales() -> None:
    for day, (network, plan, number, channel) in enumerate(SALES * 3):
        pin = vouchers.generate_batch(network, plan, 1)[1][0][1]
        order = vouchers.redeem(pin, msisdn=number, channel=channel, caller_keys=[f"line:{number}:{day}"])
        run_jobs_until_idle()
        back = timedelta(days=(day * 5) % 29, hours=day)  # spread over the month, same order of events
        Order.objects.filter(id=order["id"]).update(
            created_at=Order.objects.get(id=order["id"]).created_at - back
        )
        for event in OrderEvent.objects.filter(order_id=order["id"]):
            OrderEvent.objects.filter(pk=event.pk).update(at=event.at - back)
    terminal = shop(20_000)[0][0]
    for n in range(3):
        sell(terminal, SaleRequest(f"d-{n}", "proximus-credit-10", "direct", msisdn="0470 12 34 56"))
    sell(terminal, SaleRequest("p-1", "orange-credit-20", "pin"))
    void(terminal, "p-1")
    run_jobs_until_idle()


@pytest.mark.usefixtures("seeded", "carriers")
def test_the_back_office_in_chinese_in_a_browser(live_server: Any) -> None:
    _require_browser()
    _sales()
    User.objects.create_superuser("staff", "staff@topup.invalid", PASSWORD)
    result = subprocess.run(
        ["node", str(SCRIPT), live_server.url, "staff", PASSWORD, str(ARTIFACTS)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, f"back office journey failed:\n{result.stdout}\n{result.stderr}"
