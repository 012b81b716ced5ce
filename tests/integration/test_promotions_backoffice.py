"""Staff manage campaigns and codes in the back office: terms are checked by the engine's validation (a
bonus only on our own network), codes are stored normalised and counted only by orders, redemptions are
read-only; someone without staff rights sees nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from topup.db.models import Campaign, PromoCode, Redemption
from topup.services.promotion_seed import FLYER_ID, seed_demo_promotions

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(seeded: None) -> Client:
    seed_demo_promotions()
    staff = Client()
    staff.force_login(User.objects.create_superuser("boss", "boss@topup.invalid", "not-used"))
    return staff


def _form(**overrides: str) -> dict[str, str]:
    return {
        "names": '{"en": "Spring", "nl": "Lente"}', "rule": "percent", "active": "on", "channels": "web",
        "networks": "", "plans": "", "priority": "50", "stacking": "combinable", "percent_bp": "1500",
        "amount_minor": "0", "currency": "EUR", "min_amount_minor": "0", "bonus_data_mb": "0",
        "within_days": "0", "bogo_mode": "same_purchase", "refund_rule": "restore", "budget_minor": "",
        "codes-TOTAL_FORMS": "1", "codes-INITIAL_FORMS": "0", "codes-MIN_NUM_FORMS": "0",
        "codes-MAX_NUM_FORMS": "1000", "codes-0-code": " spring 15 ", "codes-0-active": "on",
        "codes-0-max_uses": "100", **overrides,
    }  # fmt: skip


def test_staff_create_a_campaign_with_a_code_and_bad_terms_are_refused(client: Client) -> None:
    assert client.get("/admin/topup/campaign/add/").status_code == 200
    created = client.post("/admin/topup/campaign/add/", _form())
    assert created.status_code == 302, created.content.decode()[:2000]
    code = PromoCode.objects.get(code="SPRING15")
    assert (code.max_uses, code.uses, code.campaign.percent_bp) == (100, 0, 1500)
    assert code.campaign.id.startswith("cmp_")
    bonus = _form(rule="bonus_credit", amount_minor="200", networks="proximus", **{"codes-0-code": "BONUS1"})
    refused = client.post("/admin/topup/campaign/add/", bonus)
    assert refused.status_code == 200
    assert "own eSIM network" in refused.content.decode()
    assert not PromoCode.objects.filter(code="BONUS1").exists()
    assert Campaign.objects.count() == 4


def test_redemptions_are_read_only_and_hidden_from_non_staff(client: Client) -> None:
    assert client.get("/admin/topup/redemption/").status_code == 200
    assert client.get("/admin/topup/redemption/add/").status_code == 403
    assert client.get(f"/admin/topup/campaign/{FLYER_ID}/change/").status_code == 200
    stranger = Client()
    assert stranger.get("/admin/topup/redemption/").status_code == 302  # to the sign-in page
    assert not Redemption.objects.exists()
