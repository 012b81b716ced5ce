"""The services' payment and refund paths end to end: the real `stripe` SDK against the Stripe simulator,
its signed webhooks into the live server, the worker's jobs, and the books on both sides.

Each journey checks our order, payment and ledger (every currency balanced, the provider clearing account
moved as the money did) and the simulator's own records (its PaymentIntents, refunds and events). A carrier
refusal for good is a ported number (+32470000001: a Proximus range, now an Orange line): the carrier
simulator's faults are transient errors and timeouts only, which the delivery job retries.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import zxingcpp

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_fx import charged_in_yuan  # noqa: F401 - a fixture used by name
from tests.integration.test_order_flow import place, wait_for_status
from tests.integration.test_order_payment_page import _raster
from tests.integration.test_reconcile import own_payments  # noqa: F401 - a fixture used by name
from tests.support.orders import owner
from tests.support.wired import card_by_payment_method
from topup import cli
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cards_by_test_card() -> Iterator[None]:
    """These tests are about attempts and refunds: a card is confirmed with a Stripe test card, which asks
    for 3-D Secure (Checkout Sessions have their own tests: test_stripe_checkout.py)."""
    with card_by_payment_method():
        yield


PORTED = "+32470000001"  # the carrier refuses it for good: the number now belongs to Orange
CLEARING = "provider_clearing:stripe:EUR"


class Stripe:
    """The simulator as a test reads it: Stripe's own endpoints, plus its `/_sim` faults and totals."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {CONFIG.payments_api_key}"}, timeout=10
        )

    def intent(self, provider_ref: str) -> dict[str, Any]:
        answer = self.http.get(f"/v1/payment_intents/{provider_ref}", params={"expand[]": "latest_charge"})
        answer.raise_for_status()
        return dict(answer.json())

    def refunds(self, provider_ref: str) -> list[dict[str, Any]]:
        answer = self.http.get("/v1/refunds", params={"payment_intent": provider_ref, "limit": 100})
        answer.raise_for_status()
        return list(answer.json()["data"])

    def events(self, provider_ref: str, kind: str) -> list[dict[str, Any]]:
        answer = self.http.get("/_sim/events", params={"object": provider_ref, "type": kind})
        return list(answer.json()["data"])

    def of_order(self, order_id: str) -> list[dict[str, Any]]:
        listed = self.http.get("/v1/payment_intents", params={"limit": 100}).json()["data"]
        return [i for i in listed if i["metadata"].get("order_id") == order_id]

    def faults(self, **changes: float) -> None:
        self.http.post("/_sim/faults", json=changes).raise_for_status()


@pytest.fixture
def stripe_sim(payments_simulator: str) -> Iterator[Stripe]:
    sim = Stripe(payments_simulator)
    yield sim
    sim.faults(refund_failure_rate=0.0, refund_delay_ms=500, decline_rate=0.0, processing_ms=0)


def api(live_server: Any) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, timeout=10)


def ref_of(payment_id: str) -> str:
    from topup.db.models import Payment  # noqa: PLC0415

    return str(Payment.objects.get(id=payment_id).provider_ref)


def approve(checkout_url: str) -> httpx.Response:
    """The customer approves on the hosted page; the simulator sends them back to our return URL."""
    back = httpx.post(checkout_url, data={"action": "approve"}, timeout=10)
    assert back.status_code == 303, back.text
    return back


def books_balanced() -> bool:
    from topup.db import ledger  # noqa: PLC0415

    return all(t.balanced for t in ledger.trial_balance())


def clearing(account: str = CLEARING) -> int:
    from topup.db import ledger  # noqa: PLC0415
    from topup.db.models import Account  # noqa: PLC0415

    return ledger.balance_of(account) if Account.objects.filter(id=account).exists() else 0


def paid_and_refused(client: httpx.Client, key: str, method: str) -> dict[str, Any]:
    """An order to the ported number, paid on the hosted page: the carrier will refuse it for good."""
    created = place(client, key, msisdn=PORTED, payment_method=method)
    assert created.status_code == 201, created.text
    order = created.json()
    approve(order["payment"]["next_action"]["url"])
    assert wait_for_status(client, order, {"paid"})["status"] == "paid"
    return dict(order)


# ---- 1. card with 3-D Secure ------------------------------------------------------------------------


def test_card_3ds_redirects_returns_delivers_and_a_refused_order_is_refunded_at_once(
    seeded: None, live_server: Any, stripe_sim: Stripe, carriers: Carriers
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    client = api(live_server)
    msisdn = "+32470561001"
    before = carriers.balance_minor("proximus", msisdn)
    order = place(client, "e2e-3ds", msisdn=msisdn, payment_method="card").json()
    action = order["payment"]["next_action"]
    assert action["kind"] == "redirect"
    assert "3-D Secure" in httpx.get(action["url"]).text
    location = urlsplit(approve(action["url"]).headers["location"])
    assert location.path == f"/orders/{order['id']}"
    assert parse_qs(location.query)["redirect_status"] == ["succeeded"]
    assert client.get(f"{location.path}?{location.query}", follow_redirects=True).status_code == 200
    wait_for_status(client, order, {"paid"})
    run_jobs_until_idle()
    assert wait_for_status(client, order, {"delivered"})["status"] == "delivered"
    assert carriers.balance_minor("proximus", msisdn) == before + 1000
    assert stripe_sim.intent(ref_of(order["payment"]["id"]))["status"] == "succeeded"
    assert clearing() == 1000

    refused = paid_and_refused(client, "e2e-3ds-ported", "card")
    run_jobs_until_idle()
    final = client.get(f"/api/v1/orders/{refused['id']}", headers=owner(refused)).json()
    assert final["status"] == "refunded"  # a card refund succeeds at once: no webhook needed
    assert [h["status"] for h in final["history"]][-2:] == ["delivery_failed", "refunded"]
    payment = Payment.objects.get(id=refused["payment"]["id"])
    assert (payment.status, payment.refund_status, payment.refunded_minor) == ("refunded", "succeeded", 1000)
    [refund] = stripe_sim.refunds(str(payment.provider_ref))
    assert (refund["status"], refund["amount"], refund["currency"]) == ("succeeded", 1000, "eur")
    assert refund["id"] == payment.refund_ref
    assert stripe_sim.intent(str(payment.provider_ref))["latest_charge"]["amount_refunded"] == 1000
    assert clearing() == 1000  # the refused order's capture went back out; the delivered one stays
    assert books_balanced()


# ---- 2. and 3. Alipay: asynchronous refunds ---------------------------------------------------------


def test_alipay_refund_is_pending_then_confirmed_by_refund_updated(
    seeded: None, live_server: Any, stripe_sim: Stripe, carriers: Carriers
) -> None:
    from topup.db.models import Job, Payment  # noqa: PLC0415

    stripe_sim.faults(refund_delay_ms=3000)
    client = api(live_server)
    order = paid_and_refused(client, "e2e-alipay-refund", "alipay")
    run_jobs_until_idle()
    payment = Payment.objects.get(id=order["payment"]["id"])
    assert (payment.status, payment.refund_status) == ("succeeded", "pending")
    assert stripe_sim.refunds(str(payment.provider_ref))[0]["status"] == "pending"
    assert wait_for_status(client, order, {"delivery_failed"}, 0)["status"] == "delivery_failed"
    assert clearing() == 1000  # nothing left the books while the refund is pending

    final = wait_for_status(client, order, {"refunded"})
    assert final["status"] == "refunded"
    payment.refresh_from_db()
    assert (payment.status, payment.refund_status, payment.refunded_minor) == ("refunded", "succeeded", 1000)
    [refund] = stripe_sim.refunds(str(payment.provider_ref))  # exactly one refund, whatever was retried
    assert (refund["status"], refund["amount"], refund["id"]) == ("succeeded", 1000, payment.refund_ref)
    assert [e["data"]["object"]["status"] for e in stripe_sim.events(refund["id"], "refund.updated")] == [
        "succeeded"
    ]
    assert Job.objects.get(kind="refund", subject_id=order["id"]).status == "done"
    assert clearing() == 0
    assert books_balanced()


@pytest.mark.usefixtures("seeded", "carriers")
def test_a_failed_alipay_refund_is_flagged_for_payout_and_recorded_by_hand(
    live_server: Any,
    stripe_sim: Stripe,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from topup.db.models import Job, Payment, Transfer  # noqa: PLC0415

    stripe_sim.faults(refund_failure_rate=1.0, refund_delay_ms=200)
    client = api(live_server)
    order = paid_and_refused(client, "e2e-alipay-fail", "alipay")
    with caplog.at_level(logging.ERROR):
        run_jobs_until_idle()
        payment = Payment.objects.get(id=order["payment"]["id"])
        deadline = time.monotonic() + 10
        while payment.refund_status != "payout_needed" and time.monotonic() < deadline:
            time.sleep(0.05)  # until the simulator's refund.failed arrives
            payment.refresh_from_db()
    assert payment.refund_status == "payout_needed"
    assert payment.status == "succeeded"  # the money is still ours to give back
    assert any(getattr(r, "alert", "") == "refund_failed" for r in caplog.records)
    [refund] = stripe_sim.refunds(str(payment.provider_ref))
    assert (refund["status"], refund["id"]) == ("failed", payment.refund_ref)
    assert stripe_sim.events(refund["id"], "refund.failed")

    run_jobs_until_idle()  # the refund job does not loop: one job, done after its one request
    job = Job.objects.get(kind="refund", subject_id=order["id"])
    assert (job.status, job.attempts) == ("done", 1)
    assert len(stripe_sim.refunds(str(payment.provider_ref))) == 1
    assert wait_for_status(client, order, {"delivery_failed"}, 0)["status"] == "delivery_failed"
    assert clearing() == 1000  # the refund came back to our Stripe balance: still owed to the customer

    monkeypatch.setattr(cli, "_django", lambda: None)
    cli.main(["payments", "payouts"])
    assert payment.id in capsys.readouterr().out
    cli.main(["payments", "payout-done", payment.id, "--reference", "BANK-E2E-1"])
    assert f"{payment.id}: paid_out" in capsys.readouterr().out
    payment.refresh_from_db()
    assert (payment.status, payment.refund_status, payment.payout_reference) == (
        "refunded", "paid_out", "BANK-E2E-1",
    )  # fmt: skip
    assert Transfer.objects.get(id=f"{order['id']}:refund").code == "manual_payout"
    assert wait_for_status(client, order, {"refunded"}, 0)["status"] == "refunded"
    assert clearing() == 0
    assert books_balanced()
    assert len(stripe_sim.refunds(str(payment.provider_ref))) == 1


# ---- 4. WeChat Pay ----------------------------------------------------------------------------------


def test_wechat_pay_page_shows_the_simulators_qr_code_and_approval_delivers(
    seeded: None, live_server: Any, stripe_sim: Stripe, carriers: Carriers
) -> None:
    client = api(live_server)
    order = place(client, "e2e-wechat", msisdn="+32470561004", payment_method="wechat_pay").json()
    assert order["payment"]["next_action"]["kind"] == "display_qr"
    assert client.get(f"/orders/{order['id']}", params={"token": order["order_token"]}).status_code == 302
    html = client.get(f"/orders/{order['id']}").text
    intent = stripe_sim.intent(ref_of(order["payment"]["id"]))
    assert decoded_qr(html) == intent["next_action"]["wechat_pay_display_qr_code"]["data"]
    hosted = intent["next_action"]["wechat_pay_display_qr_code"]["hosted_instructions_url"]
    assert f'href="{hosted}"' in html

    approve(hosted)
    wait_for_status(client, order, {"paid"})
    run_jobs_until_idle()
    assert wait_for_status(client, order, {"delivered"})["status"] == "delivered"
    assert clearing() == 1000
    assert books_balanced()


def decoded_qr(html: str) -> str:
    svg = re.search(r"<svg[^>]*class=\"qr pay-qr\"[^>]*>.*?</svg>", html, re.S)
    assert svg is not None, "no QR code on the page"
    [decoded] = zxingcpp.read_barcodes(_raster(svg.group(0)))
    return str(decoded.text)


# ---- 7. Bancontact only in euros --------------------------------------------------------------------


def test_bancontact_for_a_total_not_in_euros_is_refused_before_stripe_is_asked(
    seeded: None, live_server: Any, stripe_sim: Stripe
) -> None:
    from django.test import Client  # noqa: PLC0415

    from topup.db.models import NetworkRecord, Order, Payment, PlanRecord  # noqa: PLC0415

    NetworkRecord.objects.filter(id="proximus").update(currency="USD")
    PlanRecord.objects.filter(network_id="proximus").update(currency="USD")
    intents = stripe_sim.http.get("/_sim/summary").json()["intents"]

    answer = place(api(live_server), "e2e-bancontact-usd", payment_method="bancontact")
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("bancontact_eur_only", "payment_method")
    assert error["message"] == "Bancontact can only pay in euros. Choose another payment method."
    translated = httpx.post(
        f"{live_server.url}/api/v1/orders",
        json={"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "bancontact"},
        headers={"Idempotency-Key": "e2e-bancontact-nl", "Accept-Language": "nl"},
    ).json()["error"]
    assert translated["code"] == "bancontact_eur_only"
    assert translated["message"] != error["message"]  # Dutch, not English

    web = Client()
    web.get("/", {"lang": "fr"})
    assert web.post("/topup", {"msisdn": "0470 12 34 56"}).status_code == 302
    assert web.post("/topup/network", {"network": "proximus"}).status_code == 302
    assert web.post("/topup/plans", {"plan_id": "proximus-credit-10"}).status_code == 302
    review = web.post("/topup/review", {"payment_method": "bancontact", "idem": "e2e-review-1"})
    assert review.status_code == 422
    body = review.content.decode()
    assert 'id="payment_method-error"' in body
    assert "Bancontact" in body.split('id="payment_method-error"')[1][:300]
    assert Order.objects.count() == Payment.objects.count() == 0
    assert stripe_sim.http.get("/_sim/summary").json()["intents"] == intents  # nothing at Stripe


# ---- 8. charged in yuan -----------------------------------------------------------------------------


@pytest.mark.usefixtures("charged_in_yuan")
def test_charged_in_yuan_stripe_sees_cny_and_a_refund_gives_the_yuan_back(
    seeded: None, live_server: Any, stripe_sim: Stripe, carriers: Carriers
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    client = api(live_server)
    order = place(client, "e2e-cny", msisdn="+32470561008", payment_method="alipay").json()
    frozen = order["quote"]["fx"]
    assert (frozen["charge_currency"], frozen["amount"]["amount_minor"]) == ("CNY", 7842)
    intent = stripe_sim.intent(ref_of(order["payment"]["id"]))
    assert (intent["amount"], intent["currency"]) == (7842, "cny")
    assert intent["next_action"]["type"] == "alipay_handle_redirect"
    approve(order["payment"]["next_action"]["url"])
    wait_for_status(client, order, {"paid"})
    run_jobs_until_idle()
    assert wait_for_status(client, order, {"delivered"})["status"] == "delivered"

    stripe_sim.faults(refund_delay_ms=100)
    refused = paid_and_refused(client, "e2e-cny-ported", "alipay")
    run_jobs_until_idle()
    assert wait_for_status(client, refused, {"refunded"})["status"] == "refunded"
    payment = Payment.objects.get(id=refused["payment"]["id"])
    assert (payment.refunded_minor, payment.currency) == (7842, "CNY")
    [refund] = stripe_sim.refunds(str(payment.provider_ref))
    assert (refund["amount"], refund["currency"], refund["status"]) == (7842, "cny", "succeeded")
    assert clearing() == 1000  # the ledger stays in EUR: the delivered order's euros
    assert books_balanced()


# ---- reconciliation after these journeys ------------------------------------------------------------


@pytest.mark.usefixtures("seeded", "carriers", "charged_in_yuan")
def test_reconciliation_is_zero_after_yuan_stray_and_paid_out_journeys(
    live_server: Any,
    own_payments: str,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from topup.services import maintenance, reconcile  # noqa: PLC0415

    sim = Stripe(own_payments)
    client = api(live_server)
    late = place(client, "rec-late", msisdn="+32470561103", payment_method="bancontact").json()
    monkeypatch.setattr(maintenance, "CONFIG", dataclasses.replace(CONFIG, payment_ttl_s=0))
    assert maintenance.expire_unpaid_orders() == 1
    approve(late["payment"]["next_action"]["url"])  # paid after the order expired: a stray, refunded
    yuan = place(client, "rec-cny", msisdn="+32470561101", payment_method="alipay").json()
    approve(yuan["payment"]["next_action"]["url"])
    card = place(client, "rec-card", msisdn="+32470561102", payment_method="card").json()
    again = client.post(
        f"/api/v1/orders/{card['id']}/payments", json={"payment_method": "wechat_pay"},
        headers={"Idempotency-Key": "rec-card-again", **owner(card)},
    ).json()  # fmt: skip
    approve(again["payment"]["next_action"]["instructions_url"])
    sim.faults(refund_failure_rate=1.0, refund_delay_ms=100)
    failed = paid_and_refused(client, "rec-payout", "alipay")
    for order in (yuan, card):
        wait_for_status(client, order, {"paid"})
    run_jobs_until_idle()
    assert wait_for_status(client, yuan, {"delivered"})["status"] == "delivered"
    assert wait_for_status(client, card, {"delivered"})["status"] == "delivered"
    _paid_out(failed)
    assert wait_for_status(client, late, {"expired"})["payment"]["status"] in {"succeeded", "refunded"}
    run_jobs_until_idle()
    assert [r["status"] for r in sim.refunds(ref_of(late["payment"]["id"]))] == ["succeeded"]

    assert [str(m) for m in reconcile.reconcile_payments(reconcile.today())] == []
    assert books_balanced()


def _paid_out(order: dict[str, Any]) -> None:
    from topup.db.models import Payment  # noqa: PLC0415
    from topup.services import refunds  # noqa: PLC0415

    deadline = time.monotonic() + 10
    payment = Payment.objects.get(id=order["payment"]["id"])
    while payment.refund_status != "payout_needed" and time.monotonic() < deadline:
        time.sleep(0.05)
        payment.refresh_from_db()
    assert refunds.payout_done(payment.id, "BANK-REC-1") == "paid_out"
