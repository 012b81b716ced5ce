"""Webhooks are checked against what we asked for: a correctly signed success for another amount or
currency never pays the order (the payment waits for staff as `needs_review`, the ledger is untouched),
and signed events we cannot use are acknowledged `ignored` (200) so that the provider stops sending them."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.integration.test_webhooks import new_order, signed_headers
from topup.cli import main

pytestmark = pytest.mark.django_db(transaction=True)
WEBHOOK = "/api/v1/payments/webhooks/stripe"


def succeeded(order: dict[str, Any], provider_ref: str, event_id: str, amount: int, currency: str) -> bytes:
    intent = {
        "id": provider_ref,
        "object": "payment_intent",
        "status": "succeeded",
        "amount": amount,
        "currency": currency,
        "amount_refunded": 0,
        "metadata": {"order_id": order["id"], "payment_id": order["payment"]["id"]},
    }
    event = {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
    }
    return json.dumps({**event, "data": {"object": intent}}).encode()


def post_signed(base_url: str, body: bytes) -> httpx.Response:
    return httpx.post(base_url + WEBHOOK, content=body, headers=signed_headers(body), timeout=10)


def _metric(base_url: str, name: str) -> int:
    for line in httpx.get(f"{base_url}/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return int(float(line.split()[1]))  # prometheus-client writes 1.0
    raise AssertionError(f"no metric {name}")


@pytest.mark.parametrize(
    "case",
    [(100, "usd", "currency_mismatch"), (1000, "usd", "currency_mismatch"), (100, "eur", "amount_mismatch")],
    ids=["one_dollar", "wrong_currency", "wrong_amount"],
)
def test_a_success_for_another_amount_or_currency_is_not_paid(
    seeded: None, live_server: Any, payments_simulator: str, case: tuple[int, str, str]
) -> None:
    from topup.db import ledger  # noqa: PLC0415
    from topup.db.models import Job, Order, OrderEvent, Payment, Transfer  # noqa: PLC0415

    amount, currency, code = case

    order, ref = new_order(live_server.url, f"review-{amount}-{currency}")  # a €10 order
    answer = post_signed(live_server.url, succeeded(order, ref, f"evt_{amount}_{currency}", amount, currency))
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "needs_review"

    payment = Payment.objects.get(id=order["payment"]["id"])
    assert (payment.status, payment.review_code) == ("needs_review", code)
    assert (payment.received_minor, payment.received_currency) == (amount, currency.upper())
    assert Order.objects.get(id=order["id"]).status == "awaiting_payment"
    assert OrderEvent.objects.filter(order_id=order["id"], code="payment_needs_review").count() == 1
    assert not Transfer.objects.filter(order_id=order["id"]).exists()  # nothing captured
    assert not Job.objects.filter(kind="deliver").exists()
    assert all(t.balanced for t in ledger.trial_balance())
    assert _metric(live_server.url, "topup_payments_needs_review") == 1

    # A later "right" success for the same payment does not override the review either.
    again = post_signed(live_server.url, succeeded(order, ref, f"evt_again_{amount}_{currency}", 1000, "eur"))
    assert again.json()["outcome"] == "needs_review"
    assert Order.objects.get(id=order["id"]).status == "awaiting_payment"
    assert not Transfer.objects.filter(order_id=order["id"]).exists()


def test_staff_refund_of_a_reviewed_payment_asks_the_provider(
    seeded: None, live_server: Any, payments_simulator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    order, ref = new_order(live_server.url, "review-refund")
    post_signed(live_server.url, succeeded(order, ref, "evt_review_refund", 100, "usd"))
    main(["payments", "review"])
    assert order["payment"]["id"] in capsys.readouterr().out
    # The simulator never captured this intent (the event was forged by a signer): the refund is refused,
    # the command says so and the payment stays under review.
    with pytest.raises(SystemExit):
        main(["payments", "refund-review", order["payment"]["id"]])
    assert "refused" in capsys.readouterr().out
    assert Payment.objects.get(id=order["payment"]["id"]).status == "needs_review"


def test_signed_events_we_cannot_use_are_acknowledged_and_change_nothing(
    seeded: None, live_server: Any, payments_simulator: str
) -> None:
    from topup.db.models import Order, Payment, Transfer  # noqa: PLC0415

    order, ref = new_order(live_server.url, "review-ignored")
    unknown_payment = {"id": "pay_nobody", "payment_id": "pay_nobody"}
    bodies = [
        succeeded(
            {"id": "ord_nobody", "payment": unknown_payment}, "pi_nobody", "evt_unknown_payment", 1000, "eur"
        ),
        json.dumps(
            {"id": "evt_no_amount", "type": "payment_intent.succeeded", "data": {"object": {"id": ref}}}
        ),
        json.dumps({"id": "evt_odd_type", "type": "customer.created", "data": {"object": {"id": ref}}}),
        json.dumps({"id": "evt_no_object", "type": "payment_intent.succeeded", "data": []}),
        json.dumps([1, 2, 3]),
        json.dumps({"hello": "world"}),
        b"\xff\xfe not json",
        b"[" * 100_000 + b"]" * 100_000,
        succeeded(order, ref, "evt_" + "x" * 300, 1000, "eur"),  # longer than any id we store
        succeeded(order, ref, "evt_nul\u0000", 1000, "eur"),  # PostgreSQL stores no NUL
    ]
    for body in bodies:
        raw = body if isinstance(body, bytes) else body.encode()
        answer = post_signed(live_server.url, raw)
        assert answer.status_code == 200, (raw[:60], answer.text)
        assert answer.json()["outcome"] == "ignored", raw[:60]
    assert Order.objects.get(id=order["id"]).status == "awaiting_payment"
    assert Payment.objects.get(id=order["payment"]["id"]).status == "requires_action"
    assert not Transfer.objects.exists()
    # An unsigned body is still refused.
    assert httpx.post(live_server.url + WEBHOOK, content=b"{}").status_code == 400


def test_the_simulator_sends_amount_and_currency_and_a_real_payment_is_paid(
    seeded: None, live_server: Any, payments_simulator: str
) -> None:
    from topup.db.models import InboxEvent, Order  # noqa: PLC0415

    order, _ = new_order(live_server.url, "review-real")
    approved = httpx.post(
        order["payment"]["checkout_url"], data={"action": "approve"}, headers={"Accept": "application/json"}
    )
    assert approved.status_code == 200
    deadline = time.monotonic() + 15
    while Order.objects.get(id=order["id"]).status == "awaiting_payment":
        assert time.monotonic() < deadline, "the payment webhook never arrived"
        time.sleep(0.05)
    assert Order.objects.get(id=order["id"]).status == "paid"
    # A card paid through a Checkout Session succeeds by its PaymentIntent's event, which carries what
    # was charged (checkout.session.completed is not subscribed).
    [intent] = [
        e.payload["data"]["object"]
        for e in InboxEvent.objects.filter(type="payment.succeeded")
        if e.payload["data"]["object"]["object"] == "payment_intent"
    ]
    assert (intent["amount"], intent["currency"]) == (1000, "eur")
