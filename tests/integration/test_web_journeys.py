"""The customer's web journeys through Django's test client on the real database, with the payment and
carrier simulators as real peers: a top-up in Chinese and an eSIM in French up to the payment page, errors
next to their field, CSRF tokens in every form, no number in any URL, and every page fully translated."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import include, path

import topup.urls
from tests.integration.test_notifications import RecordingSms
from tests.integration.test_web_pages import compiled_catalogues  # noqa: F401  (autouse: compiles .mo)
from topup.db.models import Order
from topup.services import notifications, selfcare

urlpatterns = [*topup.urls.urlpatterns, path("", include("topup.channels.web.urls"))]
pytestmark = pytest.mark.urls(__name__)

NUMBER = "0470 12 34 56"
DIGITS = "470123456"
OTHER_LANGUAGES = ("nl", "fr", "de", "zh-hans")

# Every English UI string the web pages use (the ones that read the same in a translation, such as
# brand names or "Code", are left out): none may show on a page in another language.
ENGLISH_UI = (
    "Top up or get an eSIM", "Prepaid top-ups for Belgian mobile numbers.", "Top up a number",
    "Credit or data for any Belgian mobile number.", "Get an eSIM",
    "A Belgian number with data, installed in minutes.", "My line", "See your credit, data and orders.",
    "Sign in with a code by SMS", "Networks", "API documentation", "Mobile number",
    "Any format, for example", "Continue", "This number seems to be on",
    "Did you move your number to another operator? Choose the new one.", "Choose a network",
    "Filter plans", "Any duration", "No plan matches these filters.", "Choose a plan", "Change network",
    "Your phone must support eSIM.", "Without VAT", "Total to pay", "EID (optional)",
    "32 digits, in your phone settings under About.", "Payment method", "Pay now", "Back",
    "Check and pay", "Call credit", "Credit for calls, texts and data", "Unlimited data",
    "Valid 1 day", "days", "Card (Visa, Mastercard)", "Month", "Unlimited",
    "We send a code by SMS to your number to check that it is yours.", "Send me a code",
    "Enter your code", "We sent a 6-digit code by SMS.", "Sign in", "Send a new code",
    "My orders", "No orders yet.", "Language of our messages", "Save", "Sign out", "Language",
    "Data bundles", "Valid until", "Change",
)  # fmt: skip


@pytest.fixture
def sms() -> Iterator[RecordingSms]:
    # Test-only recorder: the production SmppSmsSender has its own test against the SMSC simulator.
    recorder = RecordingSms()
    notifications.configure(sms=recorder)
    yield recorder
    notifications.configure()


def _forms_have_csrf(text: str) -> None:
    forms = re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.DOTALL)
    for form in forms:
        if 'method="post"' in form:
            assert 'name="csrfmiddlewaretoken"' in form, form[:200]


def _get(client: Client, url: str, *, expect: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    text = answer.content.decode()
    _forms_have_csrf(text)
    assert expect in text, (url, expect)
    return text


def _post(client: Client, url: str, page: str, data: dict[str, str]) -> str:
    """Post a form with the CSRF token of the page it came from; return where it redirects to."""
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match is not None
    answer = client.post(url, {"csrfmiddlewaretoken": match.group(1), **data})
    assert answer.status_code == 302, (url, answer.status_code, answer.content[:2000])
    location = str(answer["Location"])
    assert DIGITS not in location
    assert "msisdn" not in location
    return location


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def _first_plan(page: str) -> str:
    match = re.search(r'name="plan_id" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_a_top_up_in_chinese_from_the_number_to_the_payment_page(
    seeded: None, payments_simulator: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, "/?lang=zh-hans", expect="充值")
    assert '<html lang="zh-hans"' in page
    page = _get(client, "/topup", expect="手机号码")
    assert _post(client, "/topup", page, {"msisdn": NUMBER}) == "/topup/network"
    page = _get(client, "/topup/network", expect="Proximus")
    assert "运营商" in page
    assert _post(client, "/topup/network", page, {"network": "proximus"}) == "/topup/plans"
    page = _get(client, "/topup/plans?kind=data&period=week", expect="选择套餐")
    assert "7 天" in page
    assert "话费" not in page.split("</nav>")[-1]
    plan = _first_plan(page)
    assert _post(client, "/topup/plans", page, {"plan_id": plan}) == "/topup/review"
    page = _get(client, "/topup/review", expect="应付总额")
    assert "增值税" in page
    assert "€" in page
    assert "支付宝" in page
    assert "电子邮箱地址（可选）" in page  # noqa: RUF001 - Chinese brackets; the receipt by e-mail is optional
    form = {"payment_method": "alipay", "idem": _hidden(page, "idem"), "email": "LI@EXAMPLE.CN"}
    checkout = _post(client, "/topup/review", page, form)
    assert checkout.startswith(payments_simulator)
    # The same review page sent twice (a double click) makes one order and goes to the same payment.
    assert _post(client, "/topup/review", page, form) == checkout
    order = Order.objects.get()
    assert (order.msisdn, order.plan_id, order.language) == ("+32470123456", plan, "zh-hans")
    assert order.email == "li@example.cn"


def test_an_esim_in_french_up_to_the_payment_page(seeded: None, payments_simulator: str) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, "/esim?lang=fr", expect="Obtenir une eSIM")
    assert '<html lang="fr"' in page
    page = _get(client, "/esim?period=month", expect="20 Go · 30 jours")
    assert _post(client, "/esim", page, {"plan_id": _first_plan(page)}) == "/esim/review"
    page = _get(client, "/esim/review", expect="Total à payer")
    assert "TVA" in page
    assert "€" in page
    answer = client.post(
        "/esim/review",
        {"csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken"), "idem": _hidden(page, "idem"),
         "payment_method": "card", "eid": "1234", "email": "marie@example.fr"},
    )  # fmt: skip
    assert answer.status_code == 422
    text = answer.content.decode()
    assert 'aria-describedby="eid-hint eid-error"' in text
    assert re.search(r'id="eid-error">Cet EID n', text)
    assert 'value="marie@example.fr"' in text  # what was typed stays in the form
    checkout = _post(
        client, "/esim/review", text,
        {"idem": _hidden(text, "idem"), "payment_method": "bancontact", "email": "Marie@Example.fr"},
    )  # fmt: skip
    assert checkout.startswith(payments_simulator)
    order = Order.objects.get()
    assert (order.plan.network_id, order.email) == ("topup-esim", "marie@example.fr")


@pytest.mark.parametrize(
    ("language", "words"),
    [("nl", "Dit is geen geldig telefoonnummer"), ("zh-hans", "电话号码无效")],
)
def test_a_wrong_number_shows_the_translated_error_next_to_the_field(
    seeded: None, language: str, words: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, f"/topup?lang={language}", expect=f'<html lang="{language}"')
    answer = client.post(
        "/topup", {"csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken"), "msisdn": "12"}
    )
    assert answer.status_code == 422
    text = html.unescape(answer.content.decode())
    field = re.search(
        r'<input type="tel" id="msisdn"[^>]*>\s*<p class="error" id="msisdn-error">([^<]+)', text
    )
    assert field is not None, text
    assert words in field.group(1)
    assert 'aria-describedby="msisdn-hint msisdn-error"' in text
    assert 'aria-invalid="true"' in text


def test_my_line_signs_in_with_a_code_and_signs_out(
    seeded: None, carriers_simulator: str, sms: RecordingSms
) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, "/my?lang=de", expect="Code per SMS")
    assert _post(client, "/my", page, {"msisdn": NUMBER}) == "/my/code"
    page = _get(client, "/my/code", expect="Code eingeben")
    code = re.search(r"\b(\d{6})\b", sms.sent[-1][1])
    assert code is not None
    answer = client.post(
        "/my/code",
        {
            "csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken"),
            "code": "000000" if code.group(1) != "000000" else "111111",
        },
    )
    assert answer.status_code == 422
    assert 'id="code-error"' in answer.content.decode()
    assert _post(client, "/my/code", page, {"code": code.group(1)}) == "/my"
    page = _get(client, "/my", expect="Meine Bestellungen")
    assert "Abmelden" in page
    assert "+32470123456" in page
    assert _post(client, "/my/language", page, {"language": "zh-hans"}) == "/my"
    page = _get(client, "/my", expect="我的订单")
    assert _post(client, "/my/sign-out", page, {}) == "/my"
    _get(client, "/my", expect="发送验证码")


def _visible_text(page: str) -> str:
    body = page.split("<body>", 1)[-1]
    body = re.sub(r"<nav class=\"langs\".*?</nav>", " ", body, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _pages_in(language: str, number: str, sms: RecordingSms) -> Iterator[tuple[str, str]]:
    client = Client()
    yield "/", client.get(f"/?lang={language}").content.decode()
    for url in ("/topup", "/esim", "/my"):
        yield url, client.get(url).content.decode()
    client.post("/topup", {"msisdn": number})
    yield "/topup/network", client.get("/topup/network").content.decode()
    client.post("/topup/network", {"network": "proximus"})
    for url in ("/topup/plans", "/topup/plans?kind=credit", "/topup/plans?kind=data&period=day"):
        yield url, client.get(url).content.decode()
    client.post("/topup/plans", {"plan_id": "proximus-credit-10"})
    yield "/topup/review", client.get("/topup/review").content.decode()
    client.post("/esim", {"plan_id": "esim-30d-unlimited"})
    yield "/esim/review", client.get("/esim/review").content.decode()
    client.post("/my", {"msisdn": number})
    yield "/my/code", client.get("/my/code").content.decode()
    code = re.search(r"\b(\d{6})\b", sms.sent[-1][1])
    assert code is not None
    client.post("/my/code", {"code": code.group(1)})
    yield "/my (signed in)", client.get("/my").content.decode()


def test_every_page_is_translated_in_every_language(
    seeded: None, carriers_simulator: str, sms: RecordingSms
) -> None:
    for index, language in enumerate(OTHER_LANGUAGES):
        for url, page in _pages_in(language, f"+3247012340{index}", sms):
            assert f'<html lang="{language}"' in page, (language, url)
            text = _visible_text(page)
            untranslated = [s for s in ENGLISH_UI if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text)]
            assert not untranslated, (language, url, untranslated)


def test_the_sign_in_code_goes_in_the_language_of_the_page_it_was_asked_from(
    seeded: None, sms: RecordingSms
) -> None:
    """The line prefers Dutch, the customer reads the site in French: the code they asked for there comes
    in French (the line's own language stays what it was)."""
    number = "+32470123499"
    selfcare.set_language(number, "nl")
    client = Client()
    client.get("/my?lang=fr")
    assert client.post("/my", {"msisdn": number}).status_code == 302
    ((to, text),) = sms.sent
    assert to == number
    assert "est votre code Topup" in text, text  # the page's French, not the line's Dutch
    assert selfcare.language_of(number) == "nl"


def test_the_esim_plans_offer_no_credit_filter(seeded: None) -> None:
    """An eSIM has data plans only: no "Credit" filter (nor a kind row of one choice); a top-up's network
    with both kinds keeps both."""
    client = Client()
    esim = client.get("/esim?lang=en").content.decode()
    assert "kind=credit" not in esim
    assert ">Credit<" not in esim
    assert "period=day" in esim  # the durations still filter
    forced = client.get("/esim?kind=credit").content.decode()  # an old link: every plan, not none
    assert forced.count('name="plan_id"') == esim.count('name="plan_id"') > 0
    client.post("/topup", {"msisdn": "0470 12 34 56"})
    client.post("/topup/network", {"network": "proximus"})
    top_up = client.get("/topup/plans").content.decode()
    assert "?kind=credit" in top_up
    assert "?kind=data" in top_up
