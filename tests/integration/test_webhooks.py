"""Signed webhooks: a bad signature changes nothing; ten identical events at once apply once."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.orders import owner
from topup.adapters.payments.signature import sign
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)
WEBHOOK = "/api/v1/payments/webhooks/stripe"


def succeeded_event(order: dict[str, Any], provider_ref: str, event_id: str) -> bytes:
    intent = {
        "id": provider_ref,
        "object": "payment_intent",
        "status": "succeeded",
        "amount": 1000,
        "currency": "eur",
        "payment_method": "card",
        "amount_refunded": 0,
        "last_payment_error": None,
        "metadata": {"order_id": order["id"], "payment_id": order["payment"]["id"]},
    }
    event = {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": intent},
    }
    return json.dumps(event).encode()


def signed_headers(body: bytes, secret: str | None = None) -> dict[str, str]:
    header = sign(body, secret or CONFIG.webhook_secrets[0], int(time.time()))
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def new_order(base_url: str, key: str) -> tuple[dict[str, Any], str]:
    from topup.db.models import Payment  # noqa: PLC0415

    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"}
    order = httpx.post(f"{base_url}/api/v1/orders", json=body, headers={"Idempotency-Key": key}).json()
    provider_ref = Payment.objects.get(id=order["payment"]["id"]).provider_ref
    assert provider_ref
    return order, provider_ref


def test_ten_identical_webhooks_at_once_apply_once(
    seeded: None, live_server: Any, payments_simulator: str
) -> None:
    from topup.db.models import InboxEvent, Job, Transfer  # noqa: PLC0415

    order, ref = new_order(live_server.url, "webhook-race")
    body = succeeded_event(order, ref, "evt_race_1")
    headers = signed_headers(body)
    with ThreadPoolExecutor(10) as pool:
        answers = list(
            pool.map(
                lambda _: httpx.post(live_server.url + WEBHOOK, content=body, headers=headers), range(10)
            )
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes == ["duplicate"] * 9 + ["paid"]
    assert InboxEvent.objects.filter(event_id="evt_race_1").count() == 1
    assert Job.objects.filter(kind="deliver", subject_id=order["id"]).count() == 1
    assert Transfer.objects.filter(order_id=order["id"]).count() == 1  # the capture, once
    mine = owner(order)
    assert (
        httpx.get(f"{live_server.url}/api/v1/orders/{order['id']}", headers=mine).json()["status"] == "paid"
    )


def test_a_second_event_for_the_same_payment_changes_nothing(
    seeded: None, live_server: Any, payments_simulator: str
) -> None:
    from topup.db.models import Transfer  # noqa: PLC0415

    order, ref = new_order(live_server.url, "webhook-twice")
    for event_id in ("evt_a", "evt_b"):
        body = succeeded_event(order, ref, event_id)
        httpx.post(live_server.url + WEBHOOK, content=body, headers=signed_headers(body)).raise_for_status()
    assert Transfer.objects.filter(order_id=order["id"]).count() == 1


@pytest.mark.parametrize("tamper", ["wrong_secret", "changed_body", "no_header", "old_timestamp"])
def test_a_bad_signature_is_refused_and_changes_nothing(
    seeded: None, live_server: Any, payments_simulator: str, tamper: str
) -> None:
    from topup.db.models import InboxEvent, Job, Transfer  # noqa: PLC0415

    order, ref = new_order(live_server.url, f"webhook-bad-{tamper}")
    body = succeeded_event(order, ref, f"evt_bad_{tamper}")
    headers = signed_headers(body, "whsec_not_ours" if tamper == "wrong_secret" else None)
    if tamper == "changed_body":
        body = body.replace(b'"amount": 1000', b'"amount": 9000')
    if tamper == "no_header":
        headers.pop("Stripe-Signature")
    if tamper == "old_timestamp":
        headers["Stripe-Signature"] = sign(body, CONFIG.webhook_secrets[0], int(time.time()) - 301)
    answer = httpx.post(live_server.url + WEBHOOK, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_signature"
    # (the simulator's own `payment_intent.requires_action` of the new order is in the inbox, ignored)
    assert not InboxEvent.objects.filter(event_id=f"evt_bad_{tamper}").exists()
    assert Job.objects.count() == Transfer.objects.count() == 0
    again = httpx.get(f"{live_server.url}/api/v1/orders/{order['id']}", headers=owner(order))
    assert again.json()["status"] == "awaiting_payment"
