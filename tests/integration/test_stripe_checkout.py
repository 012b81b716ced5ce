"""Card payments through Stripe Checkout Sessions, with the real SDK against the simulator, over real HTTP.

The order's payment is a session (`cs_...`) whose hosted page takes the card; the PaymentIntent it creates
carries our metadata, so its signed events find the payment, which then keeps the PaymentIntent's id for
refunds, cancels and reconciliation.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_order_flow import place, wait_for_status
from tests.support.orders import owner
from tests.support.stripe_sim import admin
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

VISA = {"number": "4242 4242 4242 4242", "exp": "12 / 34", "cvc": "123"}
DECLINED = {"number": "4000 0000 0000 0002", "exp": "12 / 34", "cvc": "123"}


@pytest.fixture
def client(seeded: None, live_server: Any, payments_simulator: str) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, timeout=10)


def _card_order(client: httpx.Client, key: str, msisdn: str) -> dict[str, Any]:
    created = place(client, key, msisdn=msisdn, payment_method="card")
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()
    assert order["payment"]["checkout_url"].rsplit("/", 1)[-1].startswith("cs_test_")
    return order


def _type(order: dict[str, Any], card: dict[str, str]) -> dict[str, Any]:
    answer = httpx.post(order["payment"]["checkout_url"], data=card, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _session(payments_simulator: str, session_id: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {CONFIG.payments_api_key}"}
    params = {"expand[]": "payment_intent.latest_charge"}
    answer = httpx.get(f"{payments_simulator}/v1/checkout/sessions/{session_id}", params=params, headers=auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _inbox_outcomes(*types: str, count: int) -> dict[str, str]:
    """Event type -> outcome of the applied inbox events of `types`, once `count` of them were applied."""
    from topup.db.models import InboxEvent  # noqa: PLC0415

    deadline = time.monotonic() + 15
    while True:
        rows = list(InboxEvent.objects.filter(type__in=types, processed_at__isnull=False))
        if len(rows) >= count:
            return {row.payload["type"]: row.outcome for row in rows}  # type: ignore[index]
        assert time.monotonic() < deadline, f"expected {count} applied events of {types}, got {rows}"
        time.sleep(0.05)


def test_a_card_paid_on_its_checkout_page_is_delivered_once_under_its_payment_intent(
    client: httpx.Client, payments_simulator: str, carriers: Carriers
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415
    from topup.services.reconcile import reconcile_payments, today  # noqa: PLC0415

    msisdn = "+32470556001"
    before = carriers.balance_minor("proximus", msisdn)
    order = _card_order(client, "checkout-visa", msisdn)
    session_id = order["payment"]["checkout_url"].rsplit("/", 1)[-1]
    page = httpx.get(order["payment"]["checkout_url"])
    assert "Card number" in page.text
    assert "€10.00" in page.text

    paid = _type(order, VISA)
    assert (paid["status"], paid["payment_status"]) == ("complete", "paid")
    wait_for_status(client, order, {"paid", "delivering", "delivered"})
    run_jobs_until_idle()

    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "delivered"
    assert carriers.balance_minor("proximus", msisdn) == before + 1000
    # One success was sent (the endpoint subscribes to Topup's events only): the PaymentIntent's pays it.
    assert _inbox_outcomes("payment.succeeded", count=1) == {"payment_intent.succeeded": "paid"}
    payment = Payment.objects.get(id=order["payment"]["id"])
    assert payment.provider_ref == paid["payment_intent"]
    assert payment.provider_ref.startswith("pi_")
    session = _session(payments_simulator, session_id)
    assert session["payment_intent"]["metadata"] == {"order_id": order["id"], "payment_id": payment.id}
    assert session["client_reference_id"] == order["id"]
    assert not [m for m in reconcile_payments(today()) if m.order_id == order["id"]]


def test_a_chinese_orders_checkout_session_and_its_retry_speak_chinese(
    client: httpx.Client, payments_simulator: str
) -> None:
    created = place(client, "checkout-zh", msisdn="+32470556009", payment_method="card", language="zh-hans")
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()
    session_id = order["payment"]["checkout_url"].rsplit("/", 1)[-1]
    assert _session(payments_simulator, session_id)["locale"] == "zh"  # Stripe's Simplified Chinese
    page = httpx.get(order["payment"]["checkout_url"], headers={"Accept-Language": "en-GB"}).text
    assert '<html lang="zh-Hans"' in page
    for chinese in ("卡号", "有效期", "支付 €10.00", "取消", "话费"):
        assert chinese in page
    for english in ("Card number", "Expiry", "Pay ", "Cancel", "credit", "Top-up"):
        assert english not in page
    # A new attempt on the same order (another card session) carries the order's language too.
    retry = {"Idempotency-Key": "checkout-zh-again", **owner(order)}
    path = f"/api/v1/orders/{order['id']}/payments"
    again = client.post(path, json={"payment_method": "card"}, headers=retry)
    assert again.status_code == 201, again.text
    second = again.json()["payment"]["checkout_url"].rsplit("/", 1)[-1]
    assert second != session_id
    assert _session(payments_simulator, second)["locale"] == "zh"


def _webhooks(payments_simulator: str) -> dict[str, Any]:
    """The simulator's delivery counts once nothing is left to send."""
    deadline = time.monotonic() + 15
    with admin(payments_simulator, CONFIG.payments_api_key) as sim:
        while True:
            stats: dict[str, Any] = sim.get("/summary").json()["webhooks"]
            if stats["pending"] == 0:
                return stats
            assert time.monotonic() < deadline, f"webhooks still pending: {stats}"
            time.sleep(0.05)


def test_a_paid_card_checkout_costs_topup_one_webhook_request(
    client: httpx.Client, payments_simulator: str, carriers: Carriers
) -> None:
    from topup.db.models import InboxEvent  # noqa: PLC0415

    order = _card_order(client, "checkout-one-webhook", "+32470556009")
    session_id = order["payment"]["checkout_url"].rsplit("/", 1)[-1]
    before = _webhooks(payments_simulator)
    paid = _type(order, VISA)
    wait_for_status(client, order, {"paid", "delivering", "delivered"})
    after = _webhooks(payments_simulator)

    with admin(payments_simulator, CONFIG.payments_api_key) as sim:
        emitted = [
            e["type"] for e in sim.get("/events", params={"object": paid["payment_intent"]}).json()["data"]
        ]
        emitted += [e["type"] for e in sim.get("/events", params={"object": session_id}).json()["data"]]
    assert {"payment_intent.succeeded", "checkout.session.completed"} <= set(emitted)
    assert after["delivered"] - before["delivered"] == 1
    assert after["failed_attempts"] == before["failed_attempts"]
    [received] = InboxEvent.objects.all()
    assert (received.payload["type"], received.outcome) == ("payment_intent.succeeded", "paid")


def test_a_declined_card_leaves_the_session_open_and_another_card_pays_it_once(
    client: httpx.Client, payments_simulator: str, carriers: Carriers
) -> None:
    msisdn = "+32470556002"
    before = carriers.balance_minor("proximus", msisdn)
    order = _card_order(client, "checkout-declined", msisdn)

    declined = _type(order, DECLINED)
    assert (declined["status"], declined["error"]) == ("open", "Your card was declined. Try another card.")
    page = httpx.get(order["payment"]["checkout_url"])
    assert "declined" in page.text
    assert 'name="number"' in page.text  # still open for another card
    _inbox_outcomes("payment.failed", count=1)  # Stripe reports the declined attempt
    failed = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["payment"]
    assert (failed["status"], failed["failure_code"]) == ("failed", "card_declined")

    paid = _type(order, VISA)
    assert paid["status"] == "complete"
    assert paid["payment_intent"] == declined["payment_intent"]  # one PaymentIntent per session
    wait_for_status(client, order, {"paid", "delivering", "delivered"})
    run_jobs_until_idle()
    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "delivered"
    assert (final["payment"]["status"], final["payment"]["failure_code"]) == ("succeeded", None)
    assert [(a["status"], a["failure_code"]) for a in final["attempts"]] == [("succeeded", None)]
    assert carriers.balance_minor("proximus", msisdn) == before + 1000


def test_the_cancel_link_returns_to_the_order_page_whose_retry_expires_the_session(
    client: httpx.Client, payments_simulator: str
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    order = _card_order(client, "checkout-cancel", "+32470556003")
    session_id = order["payment"]["checkout_url"].rsplit("/", 1)[-1]
    page = httpx.get(order["payment"]["checkout_url"]).text
    back = f"{CONFIG.public_url}/orders/{order['id']}?token={order['order_token']}"
    assert f'id="cancel" href="{back.replace("&", "&amp;")}"' in page
    ours = client.get(f"/orders/{order['id']}", params={"token": order["order_token"]}, follow_redirects=True)
    assert 'id="pay-again"' in ours.text  # the buyer may pay with the same or another method

    retry = {"Idempotency-Key": "checkout-cancel-again", **owner(order)}
    again = client.post(
        f"/api/v1/orders/{order['id']}/payments", json={"payment_method": "bancontact"}, headers=retry
    )
    assert again.status_code == 201, again.text
    assert _session(payments_simulator, session_id)["status"] == "expired"
    outcomes = _inbox_outcomes("payment.canceled", count=1)
    assert set(outcomes) == {"checkout.session.expired"}
    assert Payment.objects.get(id=order["payment"]["id"]).status == "failed"
    # A card typed on the expired page pays nothing.
    assert _type(order, VISA)["status"] == "expired"


def test_a_checkout_card_payment_is_refunded_through_its_payment_intent(
    client: httpx.Client, payments_simulator: str
) -> None:
    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import Order  # noqa: PLC0415

    order = _card_order(client, "checkout-refund", "+32470556004")
    paid = _type(order, VISA)
    wait_for_status(client, order, {"paid"})
    # Nothing delivered before the deadline: the order ends refunded.
    Order.objects.filter(id=order["id"]).update(delivery_deadline=now() - timedelta(seconds=1))
    run_jobs_until_idle()

    final = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert final["status"] == "refunded", final
    session = _session(payments_simulator, order["payment"]["checkout_url"].rsplit("/", 1)[-1])
    assert session["payment_intent"]["id"] == paid["payment_intent"]
    assert session["payment_intent"]["latest_charge"]["amount_refunded"] == 1000
