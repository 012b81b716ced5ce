"""The order page while it waits for its money: WeChat Pay's QR code (in the buyer's language, at 360 px), a
button to the bank for redirects, the bank still confirming, and a declined payment with its reason and a
form that pays again with another method (then delivered once)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import zxingcpp
from django.test import Client
from PIL import Image, ImageDraw

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support import fake_payments
from topup.db.models import Order, Payment
from topup.services import orders
from topup.services.idempotency import make_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake(seeded: None, carriers: Carriers) -> Iterator[fake_payments.FakePaymentProvider]:
    with fake_payments.installed() as provider:
        yield provider


def buyer_of(method: str, language: str = "en") -> tuple[Client, str, str]:
    """A browser that placed an order (it came back through the checkout's return link)."""
    stored = orders.place_order(
        orders.QuoteRequest("proximus-credit-10", "0470 12 34 56"), payment_method=method, channel="web",
        language=language, idem=make_key("test-web", f"w-{Order.objects.count()}", {"m": method}),
    )  # fmt: skip
    order_id, token = str(stored.body["id"]), str(stored.body["order_token"])
    client = Client(headers={"Accept-Language": language})
    assert client.get(f"/orders/{order_id}", {"token": token}).status_code == 302
    return client, order_id, Order.objects.get(id=order_id).current_payment_id


def page(client: Client, order_id: str, **query: str) -> str:
    response = client.get(f"/orders/{order_id}", query)
    assert response.status_code == 200
    return response.content.decode()


def test_wechat_pay_shows_its_qr_code_and_instructions_in_chinese(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    client, order_id, payment_id = buyer_of("wechat_pay", "zh-hans")
    html = page(client, order_id, lang="zh-hans")

    svg = re.search(r"<svg[^>]*class=\"qr pay-qr\"[^>]*>.*?</svg>", html, re.S)
    assert svg is not None
    assert 'width="' not in svg.group(0).split(">")[0]  # scales to its box: fits a 360 px screen
    assert (
        re.search(r"<script(?![^>]*\ssrc=)", html) is None
    )  # only our own script files: the CSP allows no inline one
    assert "style=" not in html
    assert "打开微信" in html  # "Open WeChat, ..." in Chinese
    assert f"https://pay.example/wechat/pi_{payment_id}/instructions" in html
    assert 'http-equiv="refresh"' in html  # the payment's webhook is still expected

    [decoded] = zxingcpp.read_barcodes(_raster(svg.group(0)))
    assert (
        decoded.text
        == Payment.objects.get(id=payment_id).qr_data
        == f"weixin://wxpay/bizpayurl?pr=pi_{payment_id}"
    )


def _raster(svg: str, scale: int = 8) -> Image.Image:
    """Draw the page's QR code (segno's path of horizontal runs: M x y, m dx dy, h n) as an image."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    path = re.search(r' d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            row = int(y)
            draw.rectangle(
                [x * scale, row * scale, (x + float(a)) * scale - 1, (row + 1) * scale - 1], fill=0
            )
            x += float(a)
    return image


def test_a_redirect_method_shows_a_pay_button_to_the_bank(fake: fake_payments.FakePaymentProvider) -> None:
    client, order_id, payment_id = buyer_of("bancontact")
    html = page(client, order_id)
    assert f'id="pay-button" href="https://pay.example/bancontact/pi_{payment_id}"' in html
    assert 'id="pay-again"' in html  # an abandoned payment may be replaced too


def test_the_buyers_return_asks_the_provider_when_the_webhook_is_late(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers
) -> None:
    client, order_id, payment_id = buyer_of("bancontact")
    fake.succeed_at_provider(payment_id)  # approved at the bank; its webhook has not arrived
    assert Client().get(f"/orders/{order_id}", {"redirect_status": "succeeded"}).status_code == 404
    assert 'data-status="awaiting_payment"' in page(client, order_id)  # not a return: the provider not asked
    assert ("get", f"pi_{payment_id}") not in fake.calls

    returned = {"payment_intent": f"pi_{payment_id}", "redirect_status": "succeeded"}
    assert 'data-status="paid"' in page(client, order_id, **returned)
    assert fake.send("payment.succeeded", payment_id) == "already_succeeded"  # the late webhook: once
    run_jobs_until_idle()
    assert Order.objects.get(id=order_id).status == "delivered"
    assert Payment.objects.filter(order_id=order_id, status="succeeded").count() == 1


def test_processing_says_the_bank_is_confirming(fake: fake_payments.FakePaymentProvider) -> None:
    client, order_id, payment_id = buyer_of("card")
    fake.send("payment.processing", payment_id)
    html = page(client, order_id)
    assert 'data-payment-status="processing"' in html
    assert 'id="pay-again"' not in html
    assert 'http-equiv="refresh"' in html


def test_a_declined_payment_is_said_and_paid_again_with_another_method(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers
) -> None:
    client, order_id, first = buyer_of("card", "fr")
    fake.send("payment.failed", first, failure_code="card_declined")

    html = page(client, order_id, lang="fr")
    assert 'id="payment-declined"' in html
    assert "Votre carte a été refusée." in html
    assert 'id="pay-again"' in html
    assert 'http-equiv="refresh"' not in html  # nothing is expected until the buyer acts
    idem = re.search(r'name="idem" value="([0-9a-f]+)"', html)
    assert idem is not None

    form = {"payment_method": "alipay", "idem": idem.group(1)}
    answer = client.post(f"/orders/{order_id}/pay", form)
    again = client.post(f"/orders/{order_id}/pay", form)  # a double click: the same attempt
    second = Order.objects.get(id=order_id).current_payment_id
    assert answer.status_code == again.status_code == 302
    assert answer["Location"] == again["Location"] == f"https://pay.example/alipay/pi_{second}"
    assert Payment.objects.filter(order_id=order_id).count() == 2

    assert fake.send("payment.succeeded", second) == "paid"
    run_jobs_until_idle()
    assert Order.objects.get(id=order_id).status == "delivered"
    assert Client().post(f"/orders/{order_id}/pay", form).status_code == 404  # a stranger


def test_bancontact_for_an_order_not_in_euros_is_refused_in_the_buyers_language(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    client, order_id, first = buyer_of("alipay", "nl")
    fake.send("payment.failed", first, failure_code="payment_failed")
    Order.objects.filter(id=order_id).update(currency="CNY")
    answer = client.post(f"/orders/{order_id}/pay?lang=nl", {"payment_method": "bancontact", "idem": "x1"})
    assert answer.status_code == 422
    assert "Bancontact" in answer.content.decode()
    assert 'id="payment_method-error"' in answer.content.decode()


def test_a_form_without_its_key_or_method_is_answered_not_crashed(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    client, order_id, _ = buyer_of("card")
    no_key = client.post(f"/orders/{order_id}/pay", {"payment_method": "alipay"})
    no_method = client.post(f"/orders/{order_id}/pay", {"idem": "k1"})
    assert (no_key.status_code, no_method.status_code) == (422, 422)
    assert 'id="general-error"' in no_key.content.decode()
    assert 'id="payment_method-error"' in no_method.content.decode()
    assert client.get(f"/orders/{order_id}/pay").status_code == 302
