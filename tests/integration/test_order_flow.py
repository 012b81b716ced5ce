"""The keystone journey over real HTTP: order, checkout at the payment simulator, webhook, delivery."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support.orders import owner
from topup.services.seed import demo_admin_key

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_status(
    client: httpx.Client, placed: dict[str, Any], wanted: set[str], timeout_s: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        order: dict[str, Any] = client.get(f"/api/v1/orders/{placed['id']}", headers=owner(placed)).json()
        if order["status"] in wanted or time.monotonic() > deadline:
            return order
        time.sleep(0.05)


def decline(client: httpx.Client, order: dict[str, Any]) -> None:
    """Decline the order's payment on the simulator's checkout and wait for its payment.failed webhook."""
    httpx.post(
        order["payment"]["checkout_url"], data={"action": "decline"}, headers={"Accept": "application/json"}
    )
    deadline = time.monotonic() + 15
    while (
        client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["payment"]["status"]
        != "failed"
    ):
        assert time.monotonic() < deadline, "the payment.failed webhook never arrived"
        time.sleep(0.05)


def place(client: httpx.Client, key: str, **body: Any) -> httpx.Response:
    payload = {
        "plan_id": "proximus-credit-10",
        "msisdn": "0470 12 34 56",
        "payment_method": "bancontact",
        **body,
    }
    return client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": key})


def test_ten_euro_proximus_credit_is_delivered_once(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=10)
    before = carriers.balance_minor("proximus", "+32470123456")

    created = place(client, "order-1")
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "awaiting_payment"
    assert order["msisdn"] == "+32470123456"
    assert order["total"] == {"amount_minor": 1000, "currency": "EUR"}
    checkout_url = order["payment"]["checkout_url"]
    assert "Approve" in httpx.get(checkout_url).text

    approved = httpx.post(checkout_url, data={"action": "approve"}, headers={"Accept": "application/json"})
    assert approved.status_code == 200
    assert wait_for_status(client, order, {"paid"})["status"] == "paid"
    run_jobs_until_idle()

    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "delivered"
    assert [h["status"] for h in final["history"]] == [
        "created",
        "awaiting_payment",
        "paid",
        "delivering",
        "delivered",
    ]
    assert carriers.balance_minor("proximus", "+32470123456") == before + 1000
    # Where the checkout sends the customer back: the token goes into the session, off the address bar.
    back = client.get(f"/orders/{order['id']}", params={"token": order["order_token"]})
    assert back.status_code == 302
    assert back.headers["location"] == f"/orders/{order['id']}"
    page = client.get(back.headers["location"])
    assert page.status_code == 200
    assert 'data-status="delivered"' in page.text
    admin = {"Authorization": f"Bearer {demo_admin_key()}"}
    trial = client.get("/api/v1/admin/ledger/trial-balance", headers=admin).json()
    assert trial["balanced"] is True
    assert trial["currencies"][0]["debits_minor"] == 1000 + 1000  # capture, then delivery legs


def test_replayed_order_request_gives_the_same_order(
    seeded: None, live_server: Any, payments_simulator: str
) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=10)
    first = place(client, "same-key")
    again = place(client, "same-key")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    other = place(client, "same-key", plan_id="proximus-credit-20")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_declined_payment_leaves_the_order_unpaid_and_the_carrier_untouched(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=10)
    msisdn = "+32470555001"
    before = carriers.balance_minor("proximus", msisdn)
    order = place(client, "declined-1", msisdn=msisdn).json()
    decline(client, order)
    run_jobs_until_idle()
    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "awaiting_payment"
    assert (
        final["history"][-1]["code"] == "payment_intent_payment_attempt_failed"
    )  # Bancontact, as Stripe says
    assert carriers.balance_minor("proximus", msisdn) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"msisdn": "+32 2 226 88 88"}, 400, "not_a_mobile_number"),
        ({"msisdn": "0470 12 34 5"}, 400, "invalid_msisdn"),
        ({"msisdn": "+33 6 12 34 56 78"}, 400, "not_a_belgian_number"),
        ({"plan_id": "no-such-plan"}, 404, "plan_not_found"),
        ({"msisdn": "0496 12 34 56"}, 409, "network_mismatch"),
        ({"payment_method": "bitcoin"}, 422, "invalid_request"),
    ],
)
def test_bad_requests_get_their_code_and_create_nothing(
    seeded: None, live_server: Any, body: dict[str, str], status: int, code: str
) -> None:
    from topup.db.models import IdempotencyRecord, Order, Payment  # noqa: PLC0415

    client = httpx.Client(base_url=live_server.url, timeout=10)
    response = place(client, f"bad-{code}", **body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert Order.objects.count() == Payment.objects.count() == IdempotencyRecord.objects.count() == 0


def test_missing_idempotency_key_is_refused(seeded: None, live_server: Any) -> None:
    response = httpx.post(
        f"{live_server.url}/api/v1/orders",
        json={"plan_id": "proximus-credit-10", "msisdn": "0470123456", "payment_method": "card"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
