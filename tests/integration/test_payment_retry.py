"""A declined payment retried with another method through the API, against the Stripe simulator through
the real SDK: the new attempt gets its own checkout, and the order is delivered once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_order_flow import decline, place, wait_for_status
from tests.support.orders import owner

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_declined_order_is_paid_again_with_another_method_and_delivered_once(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=10)
    msisdn = "+32470555077"
    before = carriers.balance_minor("proximus", msisdn)
    order = place(client, "retry-1", msisdn=msisdn, payment_method="card").json()
    decline(client, order)

    retry = {"Idempotency-Key": "retry-1-again", **owner(order)}
    again = client.post(
        f"/api/v1/orders/{order['id']}/payments", json={"payment_method": "alipay"}, headers=retry
    )

    assert again.status_code == 201, again.text
    attempt = again.json()["payment"]
    assert (attempt["attempt"], attempt["method"], attempt["status"]) == (2, "alipay", "requires_action")
    assert attempt["next_action"]["kind"] == "redirect"
    assert attempt["checkout_url"] != order["payment"]["checkout_url"]
    httpx.post(attempt["checkout_url"], data={"action": "approve"}, headers={"Accept": "application/json"})
    wait_for_status(client, order, {"paid", "delivering", "delivered"})
    run_jobs_until_idle()
    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "delivered"
    assert [a["status"] for a in final["attempts"]] == ["failed", "succeeded"]
    assert carriers.balance_minor("proximus", msisdn) - before == 1000
