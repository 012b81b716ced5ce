"""Every payment method through Stripe's API on the simulator, from the order to its delivery.

The customer follows the next action Stripe gives (3-D Secure for the test card, the bank for Bancontact,
Alipay's page, WeChat Pay's QR instructions), acts there, comes back to our order page with Stripe's
`payment_intent` and `redirect_status`, and the signed `payment_intent.succeeded` delivers the order once.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support.orders import owner, wait_until_paid

pytestmark = pytest.mark.django_db(transaction=True)

STEP = {"card": "3-D Secure", "bancontact": "Bancontact", "alipay": "Alipay", "wechat_pay": "QR code"}


@pytest.mark.parametrize("method", ["card", "bancontact", "alipay", "wechat_pay"])
def test_each_method_redirects_returns_and_is_delivered_once(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers, method: str
) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=10)
    msisdn = f"+3247056{['card', 'bancontact', 'alipay', 'wechat_pay'].index(method):04d}"
    before = carriers.balance_minor("proximus", msisdn)
    body = {"plan_id": "proximus-credit-10", "msisdn": msisdn, "payment_method": method}
    created = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert created.status_code == 201, created.text
    order = created.json()
    checkout = order["payment"]["checkout_url"]
    assert checkout.startswith(f"{payments_simulator}/checkout/pi_")
    assert STEP[method] in httpx.get(checkout).text
    back = httpx.post(checkout, data={"action": "approve"})
    assert back.status_code == 303
    location = urlsplit(back.headers["location"])
    assert location.path == f"/orders/{order['id']}"
    assert parse_qs(location.query)["redirect_status"] == ["succeeded"]
    page = client.get(f"{location.path}?{location.query}", follow_redirects=True)
    assert page.status_code == 200  # our order page (the token goes into the session)
    wait_until_paid(client, order)
    run_jobs_until_idle()
    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "delivered"
    assert final["payment"]["status"] == "succeeded"
    assert carriers.balance_minor("proximus", msisdn) == before + 1000
