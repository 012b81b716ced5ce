"""A payment retried with Alipay or WeChat Pay freezes a yuan quote of its own (the rate at that moment,
with the first quote's rules), and everything downstream reads the paying attempt's: the API's quote,
the amount asked of Stripe, the order page, the receipt, the SMS and the ledger. The pay-again form shows
the yuan beside those methods."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Carriers
from tests.integration.test_payment_retry import CardOrder, form_fields
from tests.integration.test_stripe_refunds_end_to_end import approve
from tests.support.fx import ecb_daily
from tests.support.orders import owner
from tests.support.wired import card_by_payment_method
from topup.adapters.fx import ecb
from topup.clock import now
from topup.services import fx
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)
NEW_RATE, NEW_YUAN_MINOR = "8.1234", 8286  # 10 EUR x 8.1234 x 1.02 = 82.85868


@pytest.fixture(autouse=True)
def _cards_by_test_card() -> Iterator[None]:
    with card_by_payment_method():
        yield


def _rate_moves() -> None:
    """The ECB publishes a new figure after the order was placed (a correction, the same day)."""
    fx.store_rates(ecb.parse(ecb_daily(now().date(), cny=NEW_RATE)))


def test_a_card_order_paid_again_with_wechat_pay_shows_and_records_the_attempts_yuan(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    from topup.db.models import Order, Payment, Transfer  # noqa: PLC0415
    from topup.services import notifications, order_receipts  # noqa: PLC0415

    card = CardOrder.place(live_server, payments_simulator, carriers, "fx-retry-1", "+32470555091")
    assert card.order["quote"]["fx"] is None
    _rate_moves()
    again = card.retry("wechat_pay", "fx-retry-1-wechat")
    assert again.status_code == 201, again.text
    frozen = again.json()["quote"]["fx"]
    assert frozen is not None
    assert (frozen["rate"], frozen["source"], frozen["markup_bp"]) == (NEW_RATE, "ECB", 200)
    assert frozen["amount"] == {"amount_minor": NEW_YUAN_MINOR, "currency": "CNY"}
    assert frozen["rate_date"] == now().date().isoformat()
    assert frozen["valid_until"] > now().isoformat()
    second = Payment.objects.get(order_id=card.order["id"], attempt=2)
    assert (second.amount_minor, second.currency) == (1000, "EUR")  # charged in EUR by default

    browser = httpx.Client(base_url=live_server.url, timeout=10)
    browser.get(f"/orders/{card.order['id']}", params={"token": card.order["order_token"]})
    page = browser.get(f"/orders/{card.order['id']}", params={"lang": "en"}).text
    assert "82,86\xa0CN¥ at 8,1234" in page.split('<p id="fx">')[1].split("</p>")[0]

    qr = card.sim.intent(str(second.provider_ref))["next_action"]["wechat_pay_display_qr_code"]
    approve(qr["hosted_instructions_url"])
    card.delivered_once([("card", "failed"), ("wechat_pay", "succeeded")])
    capture = Transfer.objects.get(id=f"{card.order['id']}:capture")
    assert (capture.metadata["fx_rate"], capture.metadata["fx_amount_minor"]) == (NEW_RATE, "8286")

    order = Order.objects.select_related("line").get(id=card.order["id"])
    receipt = order_receipts.order_receipt(order, "en")
    assert receipt.fx is not None
    assert (str(receipt.fx.rate), receipt.fx.amount.amount_minor) == (NEW_RATE, NEW_YUAN_MINOR)
    sms = notifications._order_message("receipt", order)  # the SMS text, not its sending
    assert "82,86\xa0CN¥ at 8,1234" in sms.text


def test_charged_in_yuan_a_retry_asks_stripe_for_the_fresh_yuan_and_a_card_retry_drops_it(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from topup.db.models import Order, Payment  # noqa: PLC0415

    monkeypatch.setattr(fx, "CONFIG", dataclasses.replace(CONFIG, charge_currency={"alipay": "CNY"}))
    card = CardOrder.place(live_server, payments_simulator, carriers, "fx-retry-2", "+32470555092")
    _rate_moves()
    alipay = card.retry("alipay", "fx-retry-2-alipay")
    assert alipay.status_code == 201, alipay.text
    assert alipay.json()["quote"]["fx"]["charge_currency"] == "CNY"
    second = Payment.objects.get(order_id=card.order["id"], attempt=2)
    assert (second.amount_minor, second.currency) == (NEW_YUAN_MINOR, "CNY")
    assert card.sim.intent(str(second.provider_ref))["amount"] == NEW_YUAN_MINOR

    back_to_card = card.retry("card", "fx-retry-2-card")  # the paying attempt is a card: no yuan side
    assert back_to_card.status_code == 201, back_to_card.text
    assert back_to_card.json()["quote"]["fx"] is None
    assert Order.objects.get(id=card.order["id"]).quote["fx"] is None
    third = Payment.objects.get(order_id=card.order["id"], attempt=3)
    assert (third.amount_minor, third.currency) == (1000, "EUR")


def test_a_retry_with_wechat_pay_without_a_recent_rate_is_refused_and_changes_nothing(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    from topup.db.models import FxRateRecord, Payment  # noqa: PLC0415

    card = CardOrder.place(live_server, payments_simulator, carriers, "fx-retry-3", "+32470555093")
    FxRateRecord.objects.all().delete()
    refused = card.retry("wechat_pay", "fx-retry-3-wechat")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "fx_rate_unavailable"
    assert Payment.objects.filter(order_id=card.order["id"]).count() == 1


def test_the_pay_again_form_shows_the_yuan_beside_alipay_and_wechat_pay(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers
) -> None:
    card = CardOrder.place(live_server, payments_simulator, carriers, "fx-retry-4", "+32470555094")
    _rate_moves()
    browser = httpx.Client(base_url=live_server.url, timeout=10)
    browser.get(f"/orders/{card.order['id']}", params={"token": card.order["order_token"]})
    html = browser.get(f"/orders/{card.order['id']}", params={"lang": "en"}).text
    assert form_fields(html)  # the form is there
    form = html.split('id="pay-again"')[1].split("</form>", maxsplit=1)[0]
    for method in ("alipay", "wechat_pay"):
        note = form.split(f'id="fx-{method}">')[1].split("</span>")[0]
        assert "82,86\xa0CN¥ at 8,1234" in note, note
    assert 'id="fx-card"' not in form
    api = httpx.get(f"{live_server.url}/api/v1/orders/{card.order['id']}", headers=owner(card.order))
    assert api.json()["quote"]["fx"] is None  # showing a rate does not freeze one
