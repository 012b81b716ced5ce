"""A declined payment retried with another method through the API, against the Stripe simulator through
the real SDK: the new attempt gets its own checkout, and the order is delivered once."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_order_flow import decline, place, wait_for_status
from tests.integration.test_stripe_refunds_end_to_end import (
    Stripe,
    approve,
    books_balanced,
    clearing,
    decoded_qr,
    ref_of,
)
from tests.support.orders import owner
from tests.support.wired import card_by_payment_method

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cards_by_test_card() -> Iterator[None]:
    """These tests are about attempts and refunds: a card is confirmed with a Stripe test card, which asks
    for 3-D Secure (Checkout Sessions have their own tests: test_stripe_checkout.py)."""
    with card_by_payment_method():
        yield


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


# ---- from the order page, as a browser does it ------------------------------------------------------


@dataclass
class CardOrder:
    """A card order to a line of its own, placed through the API, with what the line had before."""

    api: httpx.Client
    sim: Stripe
    carriers: Carriers
    msisdn: str
    before: int
    order: dict[str, Any]

    @classmethod
    def place(cls, live_server: Any, sim_url: str, carriers: Carriers, key: str, msisdn: str) -> CardOrder:
        api = httpx.Client(base_url=live_server.url, timeout=10)
        before = carriers.balance_minor("proximus", msisdn)
        order = place(api, key, msisdn=msisdn, payment_method="card").json()  # left at 3-D Secure
        return cls(api, Stripe(sim_url), carriers, msisdn, before, order)

    def retry(self, method: str, key: str) -> httpx.Response:
        headers = {"Idempotency-Key": key, **owner(self.order)}
        url = f"/api/v1/orders/{self.order['id']}/payments"
        return self.api.post(url, json={"payment_method": method}, headers=headers)

    def delivered_once(self, attempts: list[tuple[str, str]]) -> dict[str, Any]:
        """Delivered, by these attempts (method, status), the line credited once, the books balanced."""
        wait_for_status(self.api, self.order, {"paid", "delivering", "delivered"})
        run_jobs_until_idle()
        final: dict[str, Any] = self.api.get(
            f"/api/v1/orders/{self.order['id']}", headers=owner(self.order)
        ).json()
        assert final["status"] == "delivered"
        assert [(a["method"], a["status"]) for a in final["attempts"]] == attempts
        assert self.carriers.balance_minor("proximus", self.msisdn) - self.before == 1000
        assert clearing() == 1000
        assert books_balanced()
        return final


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the page's pay-again form (Django's CSRF token and the form's own key)."""
    form = html.split('id="pay-again"')[1].split("</form>", maxsplit=1)[0]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_a_declined_card_is_paid_again_with_wechat_pay_from_the_order_page(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    card = CardOrder.place(live_server, payments_simulator, carriers, "retry-web-1", "+32470555078")
    order = card.order
    first_ref = ref_of(order["payment"]["id"])
    decline(card.api, order)

    browser = httpx.Client(base_url=live_server.url, timeout=10)  # keeps the session and CSRF cookies
    assert browser.get(f"/orders/{order['id']}", params={"token": order["order_token"]}).status_code == 302
    html = browser.get(f"/orders/{order['id']}").text
    assert 'id="payment-declined"' in html
    assert "Your card was declined." in html
    fields = form_fields(html)
    assert set(fields) == {"csrfmiddlewaretoken", "idem"}
    forged = browser.post(
        f"/orders/{order['id']}/pay", data={"idem": fields["idem"], "payment_method": "alipay"}
    )
    assert forged.status_code == 403  # no CSRF token: refused, nothing made
    assert Payment.objects.filter(order_id=order["id"]).count() == 1

    paid_again = browser.post(f"/orders/{order['id']}/pay", data={**fields, "payment_method": "wechat_pay"})
    assert paid_again.status_code == 302
    assert paid_again.headers["location"] == f"/orders/{order['id']}"  # the QR code is on our page
    html = browser.get(f"/orders/{order['id']}").text
    second = Payment.objects.get(order_id=order["id"], attempt=2)
    qr = card.sim.intent(str(second.provider_ref))["next_action"]["wechat_pay_display_qr_code"]
    assert decoded_qr(html) == qr["data"]
    assert card.sim.intent(first_ref)["status"] == "canceled"  # the old attempt, cancelled at Stripe

    approve(qr["hosted_instructions_url"])
    card.delivered_once([("card", "failed"), ("wechat_pay", "succeeded")])
    assert [i["status"] for i in card.sim.of_order(order["id"])] == ["succeeded", "canceled"]


# ---- a late success of the attempt being replaced ----------------------------------------------------


def test_an_old_attempt_cancelled_at_stripe_cannot_succeed_after_the_retry(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    card = CardOrder.place(live_server, payments_simulator, carriers, "late-1", "+32470555079")
    again = card.retry("alipay", "late-1-alipay")
    assert again.status_code == 201, again.text
    approve(again.json()["payment"]["next_action"]["url"])
    wait_for_status(card.api, card.order, {"paid", "delivering", "delivered"})

    old_checkout = card.order["payment"]["next_action"]["url"]
    late = httpx.post(old_checkout, data={"action": "approve"}, headers={"Accept": "application/json"})
    assert late.json()["status"] == "canceled"  # as Stripe: a cancelled PaymentIntent stays cancelled
    card.delivered_once([("card", "failed"), ("alipay", "succeeded")])
    assert sorted(i["status"] for i in card.sim.of_order(card.order["id"])) == ["canceled", "succeeded"]


@pytest.mark.parametrize(
    ("processing_ms", "answered", "code"), [(0, 200, ""), (1500, 409, "payment_processing")]
)
def test_the_old_attempt_approved_just_before_its_cancel_is_charged_alone(  # noqa: PLR0917
    seeded: None,
    live_server: Any,
    payments_simulator: str,
    carriers: Carriers,
    monkeypatch: pytest.MonkeyPatch,
    processing_ms: int,
    answered: int,
    code: str,
) -> None:
    """Approved right before the retry cancels it: succeeded, it pays the order and no new attempt is
    made (200, the order as it is); still processing (the bank confirming), the retry is refused (409).
    Either way Stripe holds no second PaymentIntent, and the card delivers the order once."""
    from topup.services import attempts  # noqa: PLC0415

    msisdn = f"+3247055508{processing_ms // 1500}"
    card = CardOrder.place(live_server, payments_simulator, carriers, f"late-{processing_ms}", msisdn)
    cancel = attempts._cancel

    def approved_first(old: Any) -> Any:
        """The buyer finishes 3-D Secure in another tab while the retry is on its way to Stripe."""
        card.sim.faults(processing_ms=processing_ms)
        checkout = card.order["payment"]["next_action"]["url"]
        httpx.post(checkout, data={"action": "approve"}, headers={"Accept": "application/json"})
        return cancel(old)

    monkeypatch.setattr(attempts, "_cancel", approved_first)
    try:
        again = card.retry("alipay", f"late-{processing_ms}-alipay")
    finally:
        card.sim.faults(processing_ms=0)
    assert again.status_code == answered, again.text
    if code:
        assert again.json()["error"]["code"] == code
    else:
        assert again.json()["payment"]["method"] == "card"
    assert len(card.sim.of_order(card.order["id"])) == 1
    card.delivered_once([("card", "succeeded")])


def test_an_attempt_that_lost_a_retry_race_and_succeeds_is_refunded_as_a_stray(
    seeded: None,
    live_server: Any,
    payments_simulator: str,
    carriers: Carriers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415
    from topup.services import attempts  # noqa: PLC0415

    card = CardOrder.place(live_server, payments_simulator, carriers, "late-4", "+32470555082")
    decline(card.api, card.order)
    cancel = attempts._cancel
    raced: list[httpx.Response] = []
    overtaking = threading.Event()

    def overtaken(old: Any) -> Any:
        """A second tab's retry (WeChat Pay) runs to its end while this one (Alipay) is on its way."""
        if not overtaking.is_set():
            overtaking.set()
            raced.append(card.retry("wechat_pay", "late-4-wechat"))
        return cancel(old)

    monkeypatch.setattr(attempts, "_cancel", overtaken)
    lost = card.retry("alipay", "late-4-alipay")
    assert raced[0].status_code == 201, raced[0].text
    assert lost.status_code == 409
    assert lost.json()["error"]["code"] == "order_not_awaiting_payment"
    winner = raced[0].json()["payment"]
    loser = Payment.objects.get(order_id=card.order["id"], method="alipay")
    assert (loser.status, loser.failure_code) == ("failed", "superseded")

    qr = card.sim.intent(ref_of(winner["id"]))["next_action"]["wechat_pay_display_qr_code"]
    approve(qr["hosted_instructions_url"])
    wait_for_status(card.api, card.order, {"paid", "delivering", "delivered"})
    approve(card.sim.intent(str(loser.provider_ref))["next_action"]["alipay_handle_redirect"]["url"])
    deadline = time.monotonic() + 10
    while loser.status != "refunded" and time.monotonic() < deadline:
        run_jobs_until_idle()
        time.sleep(0.05)
        loser.refresh_from_db()
    assert loser.status == "refunded"
    final = card.delivered_once([("card", "failed"), ("wechat_pay", "succeeded"), ("alipay", "refunded")])
    assert final["payment"]["id"] == winner["id"]
    [refund] = card.sim.refunds(str(loser.provider_ref))
    assert (refund["status"], refund["amount"]) == ("succeeded", 1000)


def test_an_expired_orders_open_attempt_is_cancelled_at_stripe_and_cannot_be_paid(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from topup.db.models import Order, Payment  # noqa: PLC0415
    from topup.services.maintenance import expire_unpaid_orders  # noqa: PLC0415

    card = CardOrder.place(live_server, payments_simulator, carriers, "expired-1", "+32470555083")
    order = Order.objects.get(id=card.order["id"])
    Order.objects.filter(id=order.id).update(created_at=order.created_at - timedelta(hours=1))
    assert expire_unpaid_orders() == 1
    run_jobs_until_idle()  # the cancel_payment job
    [payment] = Payment.objects.filter(order_id=order.id)
    assert card.sim.intent(str(payment.provider_ref))["status"] == "canceled"
    late = httpx.post(
        card.order["payment"]["next_action"]["url"], data={"action": "approve"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert late.json()["status"] == "canceled"  # the payer can no longer pay an expired order
    assert Order.objects.get(id=order.id).status == "expired"
    assert carriers.balance_minor("proximus", card.msisdn) == card.before
