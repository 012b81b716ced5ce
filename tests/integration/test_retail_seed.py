"""The demo shop: seeded once with its published credentials, which sign; never in production."""

from __future__ import annotations

import dataclasses

import pytest
from django.test import Client

from tests.support.retail import Till
from topup.db.models import Retailer, Terminal
from topup.services import retail_seed
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_shop_is_seeded_once_and_its_pos_signs(seeded: None) -> None:
    retail_seed.seed_demo_shop()
    retail_seed.seed_demo_shop()
    assert Retailer.objects.get(id=retail_seed.DEMO_RETAILER_ID).float_minor == retail_seed.DEMO_FLOAT_MINOR
    assert set(Terminal.objects.values_list("id", "kind")) == {
        ("trm_demo_pos", "pos"),
        ("trm_demo_kiosk", "kiosk"),
    }
    till = Till(Client(), retail_seed.DEMO_POS_TERMINAL_ID, retail_seed.DEMO_POS_SECRET)
    assert till.post("/api/v1/pos/shifts", {"opening_float_minor": 0}).status_code == 201


def test_production_never_seeds_the_demo_shop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retail_seed, "CONFIG", dataclasses.replace(CONFIG, env="production"))
    with pytest.raises(RuntimeError):
        retail_seed.seed_demo_shop()
    assert not Retailer.objects.exists()
