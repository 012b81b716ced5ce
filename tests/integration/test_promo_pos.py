"""A promo code in the POS API: the quote and the sale of a direct top-up carry it to the engine and show what
it saved, the float pays the discounted price, and the receipt (JSON, text) lists the promotion in the
customer's language. A refused code answers its stable code, translated, and sells nothing.
The engine is stood in for (tests/support/promotions)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support.promotions import CODE, FakeEngine, install
from tests.support.retail import Till, float_of, shop
from topup.db.models import Order, Sale
from topup.domain.quotes import Quote
from topup.services.promotion_text import MINUS


@pytest.fixture
def promo_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    return install(monkeypatch)


pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/v1/pos/sales"
DIRECT = {
    "terminal_ref": "promo-1", "plan_id": "proximus-credit-15", "kind": "direct", "msisdn": "0470 12 34 56",
    "language": "nl", "tender": "cash", "cash_given_minor": 2000,
}  # fmt: skip


@pytest.fixture
def till(seeded: None) -> Till:
    [(terminal, secret)] = shop()
    return Till(Client(), terminal, secret)


def _error(answer: object) -> dict[str, object]:
    body = json.loads(answer.content)  # type: ignore[attr-defined]
    assert isinstance(body["error"], dict)
    return body["error"]


def test_the_quote_and_the_sale_carry_the_code_and_the_receipt_lists_it(
    till: Till, promo_engine: FakeEngine
) -> None:
    quote = till.post("/api/v1/pos/quote", {"plan_id": "proximus-credit-15", "kind": "direct",
                                            "msisdn": "0470 12 34 56", "promo_code": CODE})  # fmt: skip
    assert quote.status_code == 200, quote.content
    assert quote.json()["price"]["amount_minor"] == 1000
    assert [p["code"] for p in quote.json()["promotions"]] == [CODE]
    assert quote.json()["promotions"][0]["saving"] == {"amount_minor": 500, "currency": "EUR"}
    sold = till.post(SALES, {**DIRECT, "promo_code": CODE})
    assert sold.status_code == 201, sold.content
    document = sold.json()
    assert document["price"]["amount_minor"] == 1000
    assert document["change"]["amount_minor"] == 1000
    assert [p["code"] for p in document["promotions"]] == [CODE]
    assert promo_engine.codes[-1] == CODE
    assert float_of(till.terminal_id) == 10_000 - 1000 + 30  # the shop keeps 3 % of what it took
    sale = Sale.objects.get()
    frozen = Quote.from_dict(Order.objects.get(id=sale.order_id).quote)
    assert frozen.discount.amount_minor == 500
    assert [p.code for p in frozen.promotions] == [CODE]
    again = till.post(SALES, {**DIRECT, "promo_code": CODE})  # the same reference and body: replayed
    assert again.status_code == 200
    assert again.json() == document
    other = till.post(SALES, DIRECT)  # the same reference without the code is another request
    assert other.status_code == 409
    receipt = till.get(f"{SALES}/promo-1/receipt")
    assert [p["code"] for p in receipt.json()["promotions"]] == [CODE]
    text = till.get(f"{SALES}/promo-1/receipt?format=text").content.decode()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "Prijs € 15,00" in lines
    assert f"Flyer: € 5 korting (FLYER5) {MINUS} € 5,00" in lines
    assert "Totaal € 10,00" in lines


@pytest.mark.parametrize(
    "case",
    [("zh-hans", "NOPE", 400, "优惠码"), ("fr", "USEDUP", 409, "code promo")],
    ids=["unknown", "used-up"],
)
def test_a_refused_code_sells_nothing_and_answers_its_code_translated(
    till: Till, promo_engine: FakeEngine, case: tuple[str, str, int, str]
) -> None:
    language, code, status, words = case
    answer = till.post(SALES, {**DIRECT, "promo_code": code}, HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == status, answer.content
    error = _error(answer)
    assert error["code"] == {"NOPE": "promo_code_unknown", "USEDUP": "promo_code_used_up"}[code]
    assert error["field"] == "promo_code"
    assert words in str(error["message"]).lower()
    assert not Sale.objects.exists()
    assert not Order.objects.exists()
    assert float_of(till.terminal_id) == 10_000


def test_a_voucher_pin_takes_no_promo_code(till: Till, promo_engine: FakeEngine) -> None:
    pin_sale = {"terminal_ref": "pin-1", "plan_id": "proximus-credit-15", "kind": "pin", "promo_code": CODE}
    answer = till.post(SALES, pin_sale)
    assert answer.status_code == 400
    assert _error(answer)["code"] == "promo_code_not_applicable"
    assert not Sale.objects.exists()
    assert float_of(till.terminal_id) == 10_000


def test_a_stranger_cannot_sell_with_a_code(till: Till) -> None:
    raw = json.dumps({**DIRECT, "promo_code": CODE}).encode()
    answer = till.client.post(SALES, raw, content_type="application/json")
    assert answer.status_code == 401
    assert not Sale.objects.exists()
