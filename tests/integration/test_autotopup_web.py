"""Auto top-up chosen on the website's review step (Dutch, informal): card only, with a monthly limit."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from topup.db.models import AutoTopup, Order

pytestmark = pytest.mark.django_db(transaction=True)


def _review(client: Client) -> str:
    client.get("/?lang=nl")
    client.post("/topup", {"msisdn": "0470 99 00 20"})
    client.post("/topup/network", {"network": "proximus"})
    client.post("/topup/plans", {"plan_id": "proximus-credit-10"})
    return client.get("/topup/review").content.decode()


def _idem(page: str) -> str:
    found = re.search(r'name="idem" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_review_step_offers_auto_topup_and_sets_it_up_with_a_card(
    seeded: None, payments_simulator: str
) -> None:
    client = Client()
    page = _review(client)
    assert "Automatisch opwaarderen" in page
    assert "Als mijn beltegoed onder het bedrag hieronder zakt" in page  # a credit plan: a threshold
    assert "Bancontact, Alipay en WeChat Pay" in page  # why not with them, in the page itself
    form = {"payment_method": "card", "idem": _idem(page), "auto_topup": "monthly", "auto_cap": "30"}
    answer = client.post("/topup/review", form)
    assert answer.status_code == 302
    assert answer["Location"].startswith(payments_simulator)
    found = AutoTopup.objects.get()
    assert (found.status, found.trigger, found.period, found.cap_minor) == (
        "pending",
        "periodic",
        "monthly",
        3000,
    )
    assert found.customer_ref.startswith("cus_")
    assert found.origin.channel == "web"


def test_auto_topup_with_bancontact_is_refused_and_nothing_is_ordered(
    seeded: None, payments_simulator: str
) -> None:
    client = Client()
    page = _review(client)
    form = {"payment_method": "bancontact", "idem": _idem(page), "auto_topup": "weekly", "auto_cap": "30"}
    answer = client.post("/topup/review", form)
    assert answer.status_code == 422
    assert "Automatisch opwaarderen kan alleen met een kaart" in answer.content.decode()
    assert not Order.objects.exists()
    assert not AutoTopup.objects.exists()
    never = client.post("/topup/review", {**form, "auto_topup": "", "idem": _idem(answer.content.decode())})
    assert never.status_code == 302
    assert not AutoTopup.objects.exists()
