"""Every payment method through Stripe's API on the simulator, from the order to its delivery.

The customer follows the next action Stripe gives (the bank for Bancontact, Alipay's page, WeChat Pay's QR
instructions), acts there, comes back to our order page with Stripe's `payment_intent` and
`redirect_status`, and the signed `payment_intent.succeeded` delivers the order once. A card goes to its
Checkout Session's page, types a 3-D Secure test card, passes the challenge and comes back with the session.
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

THREE_D_SECURE_CARD = {"number": "4000 0025 0000 3155", "exp": "12 / 34", "cvc": "123"}
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
    if method == "card":
        checkout = _through_3d_secure(payments_simulator, checkout)
    assert checkout.startswith(f"{payments_simulator}/checkout/pi_")
    assert STEP[method] in httpx.get(checkout).text
    back = httpx.post(checkout, data={"action": "approve"})
    assert back.status_code == 303
    location = urlsplit(back.headers["location"])
    if method == "card":  # the challenge returns to the session's page, which sends us to its success_url
        location = urlsplit(httpx.get(back.headers["location"]).headers["location"])
        assert parse_qs(location.query)["session_id"] == [order["payment"]["checkout_url"].rsplit("/", 1)[-1]]
    else:
        assert parse_qs(location.query)["redirect_status"] == ["succeeded"]
    assert location.path == f"/orders/{order['id']}"
    page = client.get(f"{location.path}?{location.query}", follow_redirects=True)
    assert page.status_code == 200  # our order page (the token goes into the session)
    wait_until_paid(client, order)
    run_jobs_until_idle()
    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "delivered"
    assert final["payment"]["status"] == "succeeded"
    assert carriers.balance_minor("proximus", msisdn) == before + 1000


def _through_3d_secure(payments_simulator: str, session_page: str) -> str:
    """The card's Checkout page: a card that asks for 3-D Secure sends the customer to its challenge."""
    assert session_page.startswith(f"{payments_simulator}/checkout/cs_")
    assert "Card number" in httpx.get(session_page).text
    typed = httpx.post(session_page, data=THREE_D_SECURE_CARD)
    assert typed.status_code == 303
    return str(typed.headers["location"])
