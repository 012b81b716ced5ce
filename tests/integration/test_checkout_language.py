"""The payment pages in the buyer's language: Stripe Checkout's `locale` through the unmodified SDK, on the
simulator, and the simulator's hosted pages (checkout, 3-D Secure, Bancontact, WeChat Pay) written in it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import stripe

from tests.support.stripe_sim import API_KEY, SECRET, receiving, simulator
from topup.adapters.payments.stripe import StripePaymentProvider
from topup.clock import new_id
from topup.domain.money import Money
from topup.ports import PaymentRequest
from topup.settings import DEFAULT_STRIPE_API_VERSION

RETURN_URL = "https://topup.example/orders/ord_1?token=t0k"
THREE_D_SECURE = {"number": "4000002500003155", "exp": "12/34", "cvc": "123"}
DECLINED = {"number": "4000000000000002", "exp": "12/34", "cvc": "123"}
# What an English page says: none of it may be left on a page in another language.
ENGLISH = (
    "Card number", "Expiry", "Pay ", "Cancel", "Approve", "Decline", "Payment", "Waiting", "Simulated",
    "checkout", "declined", "money", "your", "Your", "confirm", "Scan", "Card",
)  # fmt: skip
# Latin words a Chinese page may keep: brands and the name of the card scheme's check.
BRANDS = {"Topup", "Stripe", "D", "Secure", "Bancontact"}


@dataclass
class Sim:
    base_url: str
    provider: StripePaymentProvider


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    with receiving() as (_hooks, url), simulator(url) as base_url:
        yield Sim(base_url, StripePaymentProvider(base_url, API_KEY, [SECRET], DEFAULT_STRIPE_API_VERSION))


def request(language: str, method: str = "card", description: str = "Top-up") -> PaymentRequest:
    return PaymentRequest(
        payment_id=new_id("pay"), order_id=f"ord_{uuid.uuid4().hex[:12]}", amount=Money(1250, "EUR"),
        method=method, description=description, return_url=RETURN_URL, language=language,
    )  # fmt: skip


def visible(html: str) -> str:
    """The text a reader sees: no style, no tags."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", " ", html, flags=re.S))


def assert_no_english(html: str) -> None:
    shown = visible(html)
    left = [word for word in ENGLISH if word in shown]
    assert not left, f"English left on the page: {left}\n{shown}"


def test_a_chinese_orders_checkout_session_carries_zh_and_its_pages_are_chinese(sim: Sim) -> None:
    asked = request("zh-hans", description="充值 Proximus 话费 €10 +32470123456")
    created = sim.provider.create_payment(asked)
    assert created.raw["locale"] == "zh"
    page = httpx.get(str(created.checkout_url))  # no Accept-Language: the session's locale decides
    assert page.status_code == 200
    assert '<html lang="zh-Hans"' in page.text
    for chinese in ("卡号", "有效期", "安全码", "支付 €12.50", "取消", "Topup 收银台", "不会扣除真实款项"):
        assert chinese in page.text
    assert_no_english(page.text)
    latin = set(re.findall(r"[A-Za-z]+", visible(page.text)))
    assert latin <= BRANDS | {"Proximus"}, latin - BRANDS

    declined = httpx.post(str(created.checkout_url), data=DECLINED, headers={"Accept": "application/json"})
    assert declined.json()["error"] == "Your card was declined. Try another card."  # the API's words
    again = httpx.get(str(created.checkout_url)).text
    assert "您的卡被拒绝。请换一张卡。" in again
    assert_no_english(again)

    typed = httpx.post(str(created.checkout_url), data=THREE_D_SECURE, headers={"Accept": "application/json"})
    challenge = httpx.get(str(typed.json()["next_action_url"])).text  # the 3-D Secure step, same locale
    for chinese in (
        "3-D Secure：请向您的银行确认这笔付款",  # noqa: RUF001 - Chinese punctuation
        "确认付款",
        "拒绝",
        "使用银行卡付款",
        "等待您确认",
    ):
        assert chinese in challenge
    assert_no_english(challenge)


def test_a_french_orders_checkout_is_french_with_french_money(sim: Sim) -> None:
    created = sim.provider.create_payment(request("fr", description="Recharge Proximus de 10 €"))
    assert created.raw["locale"] == "fr"
    page = httpx.get(str(created.checkout_url), headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert '<html lang="fr"' in page
    for french in (
        "Numéro de carte",
        "Date d&#x27;expiration",
        "Payer 12,50\u00a0€",
        "Annuler",
        "Paiement Topup",
    ):
        assert french in page
    assert 'placeholder="MM / AA"' in page
    assert_no_english(page)


def test_a_language_stripe_lacks_is_auto_and_the_page_follows_the_browser(sim: Sim) -> None:
    created = sim.provider.create_payment(request("ja"))
    assert created.raw["locale"] == "auto"
    german = httpx.get(
        str(created.checkout_url), headers={"Accept-Language": "ja;q=1, de-DE;q=0.8, en;q=0.5"}
    )
    assert "Kartennummer" in german.text
    assert "12,50\u00a0€ zahlen" in german.text
    assert "Card number" in httpx.get(str(created.checkout_url)).text  # no language at all: English


def test_an_unknown_locale_is_stripes_invalid_parameter_error(sim: Sim) -> None:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": sim.base_url}, max_network_retries=0)
    params = {
        "mode": "payment", "locale": "xx", "success_url": RETURN_URL,
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "eur", "unit_amount": 500, "product_data": {"name": "Top-up"}}}],
    }  # fmt: skip
    before = len(client.v1.checkout.sessions.list(params={"limit": 100}).data)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
    assert (refused.value.http_status, refused.value.param) == (400, "locale")
    body = refused.value.json_body
    assert isinstance(body, dict)
    error = body["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid locale: must be one of auto, bg, cs, da, de, ")
    assert error["message"].endswith(", zh, zh-HK, or zh-TW")
    assert len(client.v1.checkout.sessions.list(params={"limit": 100}).data) == before  # nothing was made
    for wrong in ("zh-hans", "ZH", "fr-BE"):  # Stripe's values only, exactly as it spells them
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.checkout.sessions.create(params={**params, "locale": wrong})  # type: ignore[arg-type]


def test_bancontact_takes_its_preferred_language_and_chinese_follows_the_browser(sim: Sim) -> None:
    dutch = sim.provider.create_payment(request("nl", method="bancontact"))
    options = dutch.raw["payment_method_options"]
    assert isinstance(options, dict)
    assert options["bancontact"] == {"preferred_language": "nl"}
    page = httpx.get(str(dutch.checkout_url), headers={"Accept-Language": "fr"}).text  # Stripe's option wins
    for words in ("Betalen met Bancontact", "Goedkeuren", "Weigeren", "€\u00a012,50", "app van je bank"):
        assert words in page
    assert_no_english(page)

    chinese = sim.provider.create_payment(request("zh-hans", method="bancontact"))
    options = chinese.raw["payment_method_options"]
    assert isinstance(options, dict)
    assert "bancontact" not in options  # Bancontact has no Chinese page: nothing Stripe does not have
    page = httpx.get(str(chinese.checkout_url), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).text
    assert "确认付款" in page
    assert "Bancontact：请在您的银行应用中确认付款" in page  # noqa: RUF001 - Chinese punctuation
    assert_no_english(page)


@pytest.mark.parametrize(
    ("method", "words"),
    [("wechat_pay", ("使用微信支付付款", "请用微信扫描此二维码付款", 'alt="微信支付二维码"')),
     ("alipay", ("使用支付宝付款", "支付宝：登录并付款"))],  # noqa: RUF001 - Chinese punctuation
)  # fmt: skip
def test_alipay_and_wechat_pay_pages_follow_a_chinese_browser(
    sim: Sim, method: str, words: tuple[str, ...]
) -> None:
    created = sim.provider.create_payment(request("zh-hans", method=method))
    page = httpx.get(str(created.checkout_url or ""), headers={"Accept-Language": "zh-CN"})
    if method == "wechat_pay":  # the order page shows the QR; its instructions are the hosted page
        assert created.next_action is not None
        page = httpx.get(str(created.next_action.instructions_url), headers={"Accept-Language": "zh-CN"})
    for chinese in words:
        assert chinese in page.text
    assert_no_english(page.text)
    if method == "wechat_pay":  # the QR image the page shows is a standalone SVG document a browser can load
        qr = httpx.get(f"{sim.base_url}/qr/{page.url.path.rsplit('/', 1)[-1]}.svg")
        assert qr.headers["content-type"].startswith("image/svg+xml")
        assert 'xmlns="http://www.w3.org/2000/svg"' in qr.text
    approved = httpx.post(
        page.url, data={"action": "approve"}, headers={"Accept-Language": "zh-CN"}, follow_redirects=False
    )
    assert approved.status_code == 303


def test_a_missing_payment_page_answers_in_the_browsers_language(sim: Sim) -> None:
    missing = httpx.get(f"{sim.base_url}/checkout/pi_nothing", headers={"Accept-Language": "de"})
    assert missing.status_code == 404
    assert "Diese Zahlung existiert nicht." in missing.text
