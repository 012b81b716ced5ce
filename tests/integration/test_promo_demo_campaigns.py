"""The channels with the real engine and the demo's own campaigns (services/promotion_seed): the flyer code
FLYER5 (€5 off €15 or more, once per customer) sold at a shop's till and refused where its terms say so,
and the welcome discount only on the channels it names. The channel tests' stand-in (tests/support/promotions)
covers each channel's rendering; these show that what a channel sends is what the engine decides."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.integration.conftest import Carriers
from tests.integration.test_buy_from_credit import WEEK_5GB, give_credit
from tests.support.retail import Till, float_of, shop
from topup.channels import sms
from topup.db.models import Order, Redemption, Sale
from topup.domain.quotes import Quote
from topup.services import orders
from topup.services.promotion_seed import FLYER_CODE, FLYER_ID, WELCOME_ID, seed_demo_promotions

pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/v1/pos/sales"


@pytest.fixture
def campaigns(seeded: None) -> None:
    seed_demo_promotions()


@pytest.fixture
def till(campaigns: None) -> Till:
    [(terminal, secret)] = shop()
    return Till(Client(), terminal, secret)


def _sale(reference: str, msisdn: str) -> dict[str, object]:
    return {
        "terminal_ref": reference, "plan_id": "proximus-credit-20", "kind": "direct", "msisdn": msisdn,
        "language": "nl", "tender": "cash", "cash_given_minor": 2000, "promo_code": FLYER_CODE.lower(),
    }  # fmt: skip


def test_flyer5_at_a_till_takes_5_euros_once_per_customer_and_no_welcome_discount(till: Till) -> None:
    sold = till.post(SALES, _sale("demo-1", "0470 44 55 01"))
    assert sold.status_code == 201, sold.content
    document = sold.json()
    assert [p["campaign_id"] for p in document["promotions"]] == [FLYER_ID]  # the welcome is not for shops
    assert document["price"]["amount_minor"] == 1500
    assert float_of(till.terminal_id) == 10_000 - 1500 + 45  # the float pays what the customer paid
    sale = Sale.objects.get()
    frozen = Quote.from_dict(Order.objects.get(id=sale.order_id).quote)
    assert (frozen.price.amount_minor, frozen.discount.amount_minor, frozen.total.amount_minor) == (
        2000,
        500,
        1500,
    )
    assert Redemption.objects.get(order_id=sale.order_id).state == "confirmed"  # paid on the spot
    again = till.post(SALES, _sale("demo-2", "+32470445501"))  # the same customer, another sale
    assert again.status_code == 409
    assert json.loads(again.content)["error"]["code"] == "promo_code_used_up"
    assert Sale.objects.count() == 1
    assert float_of(till.terminal_id) == 10_000 - 1500 + 45


def test_flyer5_below_15_euros_is_refused_by_sms_in_the_line_language(
    campaigns: None, carriers: Carriers
) -> None:
    msisdn = "+32470445502"
    give_credit(carriers, msisdn, 2000)
    reply = sms.handle_inbound(msisdn, f"koop {WEEK_5GB.lower()} code flyer5")  # a €9.99 bundle
    assert "kortingscode" in reply.lower()
    assert not Order.objects.exists()
    assert not Redemption.objects.exists()
    assert carriers.balance_minor("proximus", msisdn) == 2000


def test_the_welcome_discount_applies_on_the_channels_it_names(campaigns: None) -> None:
    def first_top_up(channel: str) -> list[str]:
        wanted = orders.QuoteRequest("proximus-credit-10", msisdn="+32470445503", channel=channel)
        return [p.campaign_id for p in orders.quote(wanted).promotions]

    assert first_top_up("web") == first_top_up("api") == [WELCOME_ID]
    assert first_top_up("pos") == first_top_up("kiosk") == first_top_up("") == []
