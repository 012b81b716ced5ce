"""Promo codes over the REST API: quotes and orders carry `promo_code` and list the promotions applied;
a refused code answers its stable code with a translated message and creates nothing; an order's
promotions (and its redemption) are shown to its owner only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from tests.integration.conftest import Carriers
from tests.support import fake_payments
from tests.support.orders import owner
from topup.db.models import Campaign, Order, PromoCode, Redemption
from topup.services.plan_text import plan_title
from topup.services.promotion_seed import (
    BOGO_ID,
    BOGO_PLAN,
    FLYER_CODE,
    FLYER_ID,
    OLD_BOGO_NAME,
    WELCOME_ID,
    bogo_names,
    seed_demo_promotions,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake(seeded: None, carriers: Carriers) -> Iterator[fake_payments.FakePaymentProvider]:
    seed_demo_promotions()
    with fake_payments.installed() as provider:
        yield provider


def _post(path: str, body: dict[str, object], language: str = "en", key: str = "") -> tuple[int, dict]:  # type: ignore[type-arg]
    headers = {"Accept-Language": language, **({"Idempotency-Key": key} if key else {})}
    answer = Client().post(path, body, content_type="application/json", headers=headers)
    return answer.status_code, answer.json()


def test_a_quote_lists_each_promotion_in_the_callers_language(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    status, quote = _post(
        "/api/v1/quotes",
        {"plan_id": "proximus-credit-15", "msisdn": "0470 12 34 56", "promo_code": "flyer5"},
        language="zh-hans",
    )  # fmt: skip
    assert status == 200, quote
    assert [(p["campaign_id"], p["saving"]["amount_minor"], p["code"]) for p in quote["promotions"]] == [
        (WELCOME_ID, 150, ""), (FLYER_ID, 500, FLYER_CODE),
    ]  # fmt: skip
    assert quote["promotions"][0]["name"] == "欢迎：首次充值立减 10%"  # noqa: RUF001
    assert quote["discount"]["amount_minor"] == 650
    assert quote["total"]["amount_minor"] == 850


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/v1/quotes", {"plan_id": "proximus-credit-15", "promo_code": "NOPE"}, 404,
         "promo_code_unknown"),
        ("/api/v1/orders", {"plan_id": "proximus-credit-10", "promo_code": FLYER_CODE}, 409,
         "promo_code_not_applicable"),
        ("/api/v1/esim/orders", {"plan_id": "esim-1d-1gb", "promo_code": "NOPE"}, 404, "promo_code_unknown"),
    ],
)  # fmt: skip
def test_a_refused_code_has_its_stable_code_a_translated_message_and_creates_nothing(
    fake: fake_payments.FakePaymentProvider, path: str, body: dict[str, object], status: int, code: str
) -> None:
    full = {"msisdn": "0470 12 34 56", "payment_method": "card", **body}
    if path.startswith("/api/v1/esim"):
        full.pop("msisdn")
    answers = {lang: _post(path, full, lang, key=f"refused-{lang}") for lang in ("en", "nl", "zh-hans")}
    for got, document in answers.values():
        assert got == status, document
        assert document["error"]["code"] == code
        assert document["error"]["field"] == "promo_code"
    messages = {document["error"]["message"] for _, document in answers.values()}
    assert len(messages) == 3  # each language its own wording
    assert not Order.objects.exists()
    assert not Redemption.objects.exists()
    assert PromoCode.objects.get(code=FLYER_CODE).uses == 0


def test_only_the_owner_sees_the_orders_promotions(fake: fake_payments.FakePaymentProvider) -> None:
    body = {"plan_id": "proximus-credit-15", "msisdn": "0470 12 34 56", "payment_method": "card",
            "promo_code": FLYER_CODE}  # fmt: skip
    status, order = _post("/api/v1/orders", body, key="promo-owner")
    assert status == 201, order
    assert [p["code"] for p in order["quote"]["promotions"]] == ["", FLYER_CODE]
    mine = Client().get(f"/api/v1/orders/{order['id']}", headers=owner(order))
    assert mine.status_code == 200
    assert mine.json()["quote"]["promotions"][1]["saving"]["amount_minor"] == 500
    stranger = Client().get(f"/api/v1/orders/{order['id']}")
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "order_not_found"
    assert FLYER_CODE not in stranger.content.decode()
    wrong = Client().get(f"/api/v1/orders/{order['id']}", headers={"X-Order-Token": "not-the-token"})
    assert wrong.status_code == 404


def test_the_orders_language_names_its_promotions_whatever_the_header(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """`language` in the body wins over a missing (or other) Accept-Language, on both kinds of order; the
    demo's buy-one-get-one is named with the plan's own title in that language."""
    body = {"plan_id": "proximus-credit-15", "msisdn": "0470 12 34 56", "payment_method": "card",
            "promo_code": FLYER_CODE, "language": "nl"}  # fmt: skip
    answer = Client().post("/api/v1/orders", body, content_type="application/json",
                           headers={"Idempotency-Key": "lang-nl"})  # fmt: skip
    assert answer.status_code == 201, answer.content
    names = [p["name"] for p in answer.json()["quote"]["promotions"]]
    assert names == ["Welkom: 10 % korting op je eerste herlading", "Flyer: € 5 korting vanaf € 15"]

    esim = {"plan_id": BOGO_PLAN, "payment_method": "card", "language": "zh-hans"}
    answer = Client().post("/api/v1/esim/orders", esim, content_type="application/json",
                           headers={"Idempotency-Key": "lang-zh", "Accept-Language": "fr"})  # fmt: skip
    assert answer.status_code == 201, answer.content
    (bogo,) = answer.json()["quote"]["promotions"]
    assert bogo["campaign_id"] == BOGO_ID
    assert bogo["name"] == f"买一送一：再送一个 eSIM 流量包（{plan_title(BOGO_PLAN, 'zh-hans')}）"  # noqa: RUF001
    assert plan_title(BOGO_PLAN, "en") == "1 GB · 1 day"
    assert bogo_names()["en"] == "Buy one, get one free: a second eSIM bundle (1 GB · 1 day)"


def test_a_demo_seeded_with_the_old_bogo_name_gets_the_new_one_unless_staff_edited_it(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    Campaign.objects.filter(id=BOGO_ID).update(names={"en": OLD_BOGO_NAME, "nl": "oud"})
    seed_demo_promotions()
    assert Campaign.objects.get(id=BOGO_ID).names == bogo_names()
    Campaign.objects.filter(id=BOGO_ID).update(names={"en": "Staff's own words"})
    seed_demo_promotions()
    assert Campaign.objects.get(id=BOGO_ID).names == {"en": "Staff's own words"}
