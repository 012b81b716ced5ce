"""The endpoints of issue #9 tried as an outsider would: a stranger with an order id cannot pay it again
(nothing is made at the provider), odd payment methods are a stable 4xx, DT One's callback with a wrong token
or a garbage body changes nothing, a checkout.session.completed event signed with another secret or naming a
session we never made pays nothing, and a return link's query never shows another order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_order_flow import decline, place
from tests.integration.test_payment_retry import form_fields
from tests.integration.test_stripe_refunds_end_to_end import Stripe
from tests.integration.test_webhook_review import WEBHOOK
from tests.integration.test_webhooks import signed_headers
from tests.support.orders import owner, signed_in_token
from tests.support.wired import card_by_payment_method
from topup.channels.api.auth import create_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(seeded: None, live_server: Any, payments_simulator: str) -> Iterator[httpx.Client]:
    with card_by_payment_method(), httpx.Client(base_url=live_server.url, timeout=15) as http:
        yield http


def _declined(client: httpx.Client, key: str, msisdn: str) -> dict[str, Any]:
    """A card order whose payment was declined: the one state in which a retry is allowed."""
    created = place(client, key, msisdn=msisdn, payment_method="card")
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()
    decline(client, order)
    return order


def _payments(order_id: str) -> int:
    from topup.db.models import Payment  # noqa: PLC0415

    return Payment.objects.filter(order_id=order_id).count()


def _status(order_id: str) -> str:
    from topup.db.models import Order  # noqa: PLC0415

    return str(Order.objects.get(id=order_id).status)


def test_a_stranger_cannot_retry_an_orders_payment_through_the_api(
    client: httpx.Client, payments_simulator: str
) -> None:
    order = _declined(client, "outsider-retry", "+32470557001")
    sim = Stripe(payments_simulator)
    at_provider = len(sim.of_order(order["id"]))
    url = f"/api/v1/orders/{order['id']}/payments"
    strangers: list[dict[str, str]] = [
        {},
        {"X-Order-Token": order["order_token"][:-2] + "xx"},
        {"Authorization": f"Bearer {create_key(['orders:write'], name='stranger')}"},
        {"Authorization": f"Bearer {signed_in_token('+32470557002')}"},
    ]
    for n, headers in enumerate(strangers):
        answer = client.post(
            url, json={"payment_method": "alipay"}, headers={**headers, "Idempotency-Key": f"s-{n}"}
        )
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "order_not_found"
    # An order id that does not exist reads the same as one that is not yours.
    missing = client.post(
        "/api/v1/orders/ord_nope/payments",
        json={"payment_method": "alipay"},
        headers={"Idempotency-Key": "n"},
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "order_not_found")
    assert _payments(order["id"]) == 1
    assert len(sim.of_order(order["id"])) == at_provider

    # The order's own token opens the retry the stranger was refused.
    mine = client.post(
        url, json={"payment_method": "alipay"}, headers={**owner(order), "Idempotency-Key": "mine"}
    )
    assert mine.status_code == 201, mine.text


@pytest.mark.parametrize("method", ["", "bitcoin", "x" * 5000, "card\x00", "CARD", None, 7])
def test_the_api_retry_refuses_odd_payment_methods_with_a_4xx(client: httpx.Client, method: Any) -> None:
    order = _declined(client, f"odd-retry-{abs(hash(str(method))) % 10**6}", "+32470557003")
    answer = client.post(
        f"/api/v1/orders/{order['id']}/payments",
        json={"payment_method": method},
        headers={**owner(order), "Idempotency-Key": "odd"},
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]["code"]
    assert _payments(order["id"]) == 1


def test_the_web_pay_form_refuses_strangers_forgeries_and_bogus_methods(client: httpx.Client) -> None:
    order = _declined(client, "outsider-web", "+32470557004")
    path = f"/orders/{order['id']}/pay"

    # A stranger's browser, with its own session and CSRF token, but not the order in its session.
    stranger = httpx.Client(base_url=str(client.base_url), timeout=15)
    stranger.get("/")
    csrf = stranger.cookies.get("csrftoken", "")
    refused = stranger.post(
        path, data={"csrfmiddlewaretoken": csrf, "idem": "x", "payment_method": "alipay"},
        headers={"X-CSRFToken": csrf},
    )  # fmt: skip
    assert refused.status_code in {403, 404}, refused.text  # 403 when it has no CSRF cookie at all
    if csrf:
        assert refused.status_code == 404
    assert _payments(order["id"]) == 1

    browser = httpx.Client(base_url=str(client.base_url), timeout=15)
    browser.get(f"/orders/{order['id']}", params={"token": order["order_token"]})
    fields = form_fields(browser.get(f"/orders/{order['id']}").text)
    no_csrf = browser.post(path, data={"idem": fields["idem"], "payment_method": "alipay"})
    assert no_csrf.status_code == 403

    for bogus in ("", "bitcoin", "x" * 5000, "card\x00alipay", "CARD"):
        answer = browser.post(path, data={**fields, "payment_method": bogus})
        assert 400 <= answer.status_code < 500, (bogus[:20], answer.status_code)
    assert _payments(order["id"]) == 1
    assert _status(order["id"]) == "awaiting_payment"


@pytest.mark.parametrize("method", ["", "bitcoin", "x" * 5000, "card\x00", "\x00", 12, ["card"]])
def test_a_quote_with_an_odd_payment_method_is_a_stable_4xx(client: httpx.Client, method: Any) -> None:
    """(No method at all, null, is a valid quote: the card price.)"""
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": method}
    answer = client.post("/api/v1/quotes", json=body)
    assert 400 <= answer.status_code < 500, answer.text
    code = answer.json()["error"]["code"]
    assert code
    assert client.post("/api/v1/quotes", json=body).json()["error"]["code"] == code  # stable


# ---- DT One's callback ----------------------------------------------------------------------------------


def test_dt_ones_callback_with_a_wrong_token_or_a_garbage_body_changes_nothing(
    client: httpx.Client, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace  # noqa: PLC0415

    from topup.channels import carrier_callbacks  # noqa: PLC0415
    from topup.db.models import Job, Order  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    token = "d" * 32
    monkeypatch.setattr(carrier_callbacks, "CONFIG", replace(CONFIG, dtone_callback_token=token))
    base = f"{live_server.url}/carriers/dtone/callbacks/"
    for wrong in ("x" * 32, token[:-1], token + "d", "%00", "d" * 500):
        assert httpx.post(base + wrong, json={"external_id": "x"}).status_code == 404
    jobs, orders = Job.objects.count(), list(Order.objects.values_list("id", "status"))

    bodies: list[tuple[bytes, str]] = [
        (b"", "application/json"),
        (b"not json", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"external_id"', "application/json"),
        (b"external_id=ord_x", "application/x-www-form-urlencoded"),
        (b'{"external_id": {"$ne": null}}', "application/json"),
        (b'{"external_id": "' + b"a" * 2_000_000 + b'"}', "application/json"),
        (b"[" * 100_000, "application/json"),
        (json.dumps({"external_id": "ord_does_not_exist", "status": {"class": {"id": 7}}}).encode(), "x/y"),
    ]
    for body, kind in bodies:
        answer = httpx.post(base + token, content=body, headers={"Content-Type": kind}, timeout=30)
        assert answer.status_code < 500, (body[:30], answer.status_code)
    assert Job.objects.count() == jobs
    assert list(Order.objects.values_list("id", "status")) == orders


# ---- Stripe's checkout.session.completed ------------------------------------------------------------


def _session_completed(order: dict[str, Any], session_id: str, intent: str) -> bytes:
    session = {
        "id": session_id,
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 1000,
        "currency": "eur",
        "client_reference_id": order["id"],
        "payment_intent": intent,
        "metadata": {"order_id": order["id"], "payment_id": order["payment"]["id"]},
    }
    event = {"id": f"evt_{session_id}", "object": "event", "type": "checkout.session.completed"}
    return json.dumps({**event, "created": int(time.time()), "data": {"object": session}}).encode()


def test_a_session_completed_signed_with_another_secret_or_naming_an_unknown_session_pays_nothing(
    seeded: None, live_server: Any, payments_simulator: str
) -> None:
    from topup.db.models import Job, Payment, Transfer  # noqa: PLC0415

    client = httpx.Client(base_url=live_server.url, timeout=15)
    order = place(client, "outsider-session", msisdn="+32470557005", payment_method="card").json()
    url = live_server.url + WEBHOOK

    forged = _session_completed(order, "cs_forged_1", "pi_forged_1")
    wrong = httpx.post(url, content=forged, headers=signed_headers(forged, secret="whsec_not_ours"))
    assert wrong.status_code in {400, 403}, wrong.text

    unknown = _session_completed(order, "cs_never_made_by_us", "pi_never_made_by_us")
    answer = httpx.post(url, content=unknown, headers=signed_headers(unknown))
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] != "paid"

    payment = Payment.objects.get(id=order["payment"]["id"])
    assert payment.status not in {"succeeded", "needs_review"}
    assert payment.provider_ref not in {"pi_forged_1", "pi_never_made_by_us"}
    assert _status(order["id"]) == "awaiting_payment"
    assert not Transfer.objects.filter(order_id=order["id"]).exists()
    assert not Job.objects.filter(kind="deliver", subject_id=order["id"]).exists()


# ---- the order page's return link ---------------------------------------------------------------------


def test_a_return_links_query_naming_another_order_does_not_reveal_it(client: httpx.Client) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    mine = place(client, "outsider-page-mine", msisdn="+32470557006", payment_method="card").json()
    theirs = place(client, "outsider-page-theirs", msisdn="+32470557007", payment_method="card").json()
    their_ref = str(Payment.objects.get(id=theirs["payment"]["id"]).provider_ref)

    browser = httpx.Client(base_url=str(client.base_url), timeout=15)
    browser.get(f"/orders/{mine['id']}", params={"token": mine["order_token"]})
    for query in (
        {"session_id": their_ref},
        {"payment_intent": their_ref},
        {"session_id": theirs["id"], "payment_intent": their_ref, "redirect_status": "succeeded"},
    ):
        page = browser.get(f"/orders/{mine['id']}", params=query, follow_redirects=True)
        assert page.status_code == 200
        assert theirs["id"] not in page.text
        assert "0470 55 70 07" not in page.text
        assert "557007" not in page.text
        other = browser.get(f"/orders/{theirs['id']}", params=query, follow_redirects=True)
        assert other.status_code == 404
    assert _status(mine["id"]) == "awaiting_payment"
    assert _status(theirs["id"]) == "awaiting_payment"
