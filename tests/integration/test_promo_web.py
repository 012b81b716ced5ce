"""A promo code on the website's review step (top-up and eSIM): Apply re-prices and lists each promotion in
the page's language, a refused code is said beside the field in that language (the price shown without it),
and the code travels into the order placed. The engine is stood in for (tests/support/promotions)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import include, path

import topup.urls
from tests.integration.test_web_pages import compiled_catalogues  # noqa: F401  (autouse: compiles .mo)
from tests.support.promotions import CODE, FakeEngine, install, welcome_bonus
from topup.db.models import Order
from topup.domain.quotes import Quote
from topup.services import orders
from topup.services.promotion_text import MINUS

urlpatterns = [*topup.urls.urlpatterns, path("", include("topup.channels.web.urls"))]


@pytest.fixture
def promo_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    return install(monkeypatch)


pytestmark = pytest.mark.urls(__name__)

# The English words of the promo field and its refusals: none may show on a Chinese page.
ENGLISH_PROMO_WORDS = (
    "Promo code", "Apply", "This promo code", "not known", "Check how it is written", "Discount",
    "used as many times", "Flyer", "credit", "data", "free",
)  # fmt: skip

# Latin words a Chinese page may show: brands, the code the customer typed, the currency's ISO sign.
NOT_ENGLISH = {"Proximus", "Bancontact", "Visa", "Mastercard", "Alipay", "WeChat", "Pay", "NOPE", "CN"}


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match is not None, name
    return match.group(1)


def _review_of_a_top_up(client: Client, language: str) -> str:
    """Number, network and the cheapest credit plan of Proximus chosen; the review page's HTML."""
    client.get(f"/?lang={language}")
    page = client.get("/topup").content.decode()
    token = _hidden(page, "csrfmiddlewaretoken")
    assert client.post("/topup", {"csrfmiddlewaretoken": token, "msisdn": "0470 12 34 56"}).status_code == 302
    assert (
        client.post("/topup/network", {"csrfmiddlewaretoken": token, "network": "proximus"}).status_code
        == 302
    )
    plans = client.get("/topup/plans?kind=credit").content.decode()
    plan = re.findall(r'name="plan_id" value="([^"]+)"', plans)[-1]
    assert client.post("/topup/plans", {"csrfmiddlewaretoken": token, "plan_id": plan}).status_code == 302
    answer = client.get("/topup/review")
    assert answer.status_code == 200
    return answer.content.decode()


def _text(content: bytes) -> str:
    """The page as a reader sees it: entities decoded, Babel's no-break spaces as plain ones."""
    return html.unescape(content.decode()).replace("\xa0", " ").replace("\u202f", " ")


def _form(page: str, **fields: str) -> dict[str, str]:
    return {
        "csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken"),
        "idem": _hidden(page, "idem"),
        **fields,
    }


def _total(page: str) -> str:
    match = re.search(r'<tr class="total"><th scope="row">[^<]+</th><td>([^<]+)</td>', page)
    assert match is not None
    return html.unescape(match.group(1)).replace("\xa0", " ")


def test_apply_shows_the_saving_in_dutch_and_the_order_carries_the_code(
    seeded: None, payments_simulator: str, promo_engine: FakeEngine
) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _review_of_a_top_up(client, "nl")
    assert 'name="promo_code"' in page
    assert "Kortingscode" in page
    before = _total(page)
    answer = client.post("/topup/review", _form(page, promo_code=" flyer5 ", apply="1"))
    assert answer.status_code == 200
    applied = _text(answer.content)
    assert "Flyer: € 5 korting" in applied
    assert f"{MINUS} € 5,00" in applied
    assert _total(applied) != before
    assert 'value="flyer5"' in applied  # the code stays in its field
    assert not Order.objects.exists()  # Apply only prices
    where = client.post("/topup/review", _form(applied, promo_code="flyer5", payment_method="card"))
    assert where.status_code == 302, where.content[:2000]
    order = Order.objects.get()
    frozen = Quote.from_dict(order.quote)
    assert [p.code for p in frozen.promotions] == [CODE]
    assert frozen.discount.amount_minor == 500
    assert order.total_minor == frozen.price.amount_minor - 500
    assert promo_engine.codes[-1] == "flyer5"  # what the customer typed went to the engine
    shown = _text(client.get(f"/orders/{order.id}").content)
    assert 'id="promotions"' in shown
    assert f"Flyer: € 5 korting (FLYER5): <strong>{MINUS} € 5,00</strong>" in shown


def test_an_unknown_code_is_refused_beside_the_field_in_chinese_with_no_english(
    seeded: None, promo_engine: FakeEngine
) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _review_of_a_top_up(client, "zh-hans")
    before = _total(page)
    answer = client.post("/topup/review", _form(page, promo_code="NOPE42", apply="1"))
    assert answer.status_code == 422
    text = _text(answer.content)
    refusal = re.search(r'<p class="error" id="promo_code-error">([^<]+)</p>', text)
    assert refusal is not None, text
    assert "优惠码" in refusal.group(1)
    assert 'aria-invalid="true"' in text
    assert _total(text) == before  # the price without the refused code is still shown
    body = text.split("<main", 1)[-1]
    shown = re.sub(r"<[^>]+>", " ", body.split("</nav>", 1)[-1])  # what a reader sees, the switcher aside
    for words in ENGLISH_PROMO_WORDS:
        assert words not in shown, words
    latin = set(re.findall(r"[A-Za-z]{2,}", shown)) - NOT_ENGLISH
    assert not latin, latin
    # Paying with the refused code still in the field is refused the same way: nothing is created.
    again = client.post("/topup/review", _form(text, promo_code="NOPE42", payment_method="card"))
    assert again.status_code == 422
    assert 'id="promo_code-error"' in again.content.decode()
    assert not Order.objects.exists()


def test_one_press_of_pay_pays_once_a_refused_code_is_cleared(
    seeded: None, payments_simulator: str, promo_engine: FakeEngine
) -> None:
    """After a refused code the price shown is without it: Pay with the field cleared pays at once."""
    client = Client(enforce_csrf_checks=True)
    page = _review_of_a_top_up(client, "en")
    refused = client.post("/topup/review", _form(page, promo_code="NOPE42", apply="1"))
    assert refused.status_code == 422
    shown = refused.content.decode()
    paid = client.post("/topup/review", _form(shown, promo_code="", payment_method="card"))
    assert paid.status_code == 302, paid.content[:2000]
    assert Quote.from_dict(Order.objects.get().quote).promotions == ()


def test_one_press_of_pay_buys_the_esim_once_a_refused_code_is_cleared(
    seeded: None, payments_simulator: str, promo_engine: FakeEngine
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/?lang=fr")
    plans = client.get("/esim").content.decode()
    chosen = {"csrfmiddlewaretoken": _hidden(plans, "csrfmiddlewaretoken"), "plan_id": "esim-1d-1gb"}
    assert client.post("/esim", chosen).status_code == 302
    page = client.get("/esim/review").content.decode()
    mail = "marie@example.fr"
    refused = client.post("/esim/review", _form(page, promo_code="NOPE42", apply="1", email=mail))
    assert refused.status_code == 422
    shown = refused.content.decode()
    paid = client.post("/esim/review", _form(shown, promo_code="", payment_method="card", email=mail))
    assert paid.status_code == 302, paid.content[:2000]
    assert Order.objects.get().email == mail


def test_paying_with_a_code_not_yet_applied_shows_the_new_price_first(
    seeded: None, promo_engine: FakeEngine
) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _review_of_a_top_up(client, "en")
    answer = client.post("/topup/review", _form(page, promo_code=CODE, payment_method="card"))
    assert answer.status_code == 200
    text = _text(answer.content)
    assert "Flyer: €5 off" in text
    assert f"{MINUS} 5,00 €" in text
    assert not Order.objects.exists()


def test_an_esim_review_lists_an_automatic_promotion_and_a_code(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine(orders.price, automatic=(welcome_bonus(),))
    monkeypatch.setattr(orders, "price", engine)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/esim?lang=nl").content.decode()
    plan = re.findall(r'name="plan_id" value="([^"]+)"', page)[-1]  # the dearest: more than €5
    token = _hidden(page, "csrfmiddlewaretoken")
    assert client.post("/esim", {"csrfmiddlewaretoken": token, "plan_id": plan}).status_code == 302
    review = _text(client.get("/esim/review").content)
    assert "Welkomstbonus" in review  # no code needed: shown at once
    assert "+ 1 GB data" in review
    answer = client.post("/esim/review", _form(review, promo_code=CODE, apply="1"))
    assert answer.status_code == 200
    text = _text(answer.content)
    assert "Welkomstbonus" in text, text[text.index("<main") :]
    assert "Flyer: € 5 korting" in text
    assert engine.codes[-1] == CODE
