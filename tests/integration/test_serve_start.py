"""`topup serve` starting again: the demo seed is idempotent, and the marker that lets a second start skip
migrate and seed is trusted only while the code, the settings and the database are as it left them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from topup import serve_state
from topup.adapters.fx.ecb import BUNDLED
from topup.fx_cli import import_rates
from topup.services.promotion_seed import seed_demo_promotions
from topup.services.retail_seed import seed_demo_shop
from topup.services.seed import demo_admin_key, seed_demo
from topup.settings import CONFIG, Config

pytestmark = pytest.mark.django_db(transaction=True)


def _seed_everything() -> str:
    """What `topup serve` seeds on a first start, in its order."""
    seed_demo()
    import_rates(file=BUNDLED)
    seed_demo_shop()
    seed_demo_promotions()
    return demo_admin_key()


def _every_row() -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in apps.get_app_config("topup").get_models()
    }


def test_a_second_seed_changes_nothing() -> None:
    key = _seed_everything()
    first = _every_row()
    assert all(first[name] for name in ("PlanRecord", "Retailer", "Campaign", "PromoCode", "ApiKey"))
    assert _seed_everything() == key
    assert _every_row() == first


def test_the_demo_admin_key_file_holds_the_key_as_the_api_takes_it() -> None:
    """Sent as `Bearer $(cat data/demo-admin-key)`: the file holds the whole key, not only its secret."""
    key = _seed_everything()
    assert (CONFIG.data_dir / "demo-admin-key").read_text(encoding="ascii").strip() == key
    assert key.startswith("tpk_demoadmin_")


def test_an_emptied_demo_admin_key_file_gets_a_key_that_is_kept() -> None:
    key_file = CONFIG.data_dir / "demo-admin-key"
    key_file.write_text("\n", encoding="ascii")
    key = demo_admin_key()
    assert len(key) > len("tpk_demoadmin_") + 20
    assert key_file.read_text(encoding="ascii").strip() == key
    assert demo_admin_key() == key


def _config_on_the_test_database(tmp_path: Path) -> Config:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    return dataclasses.replace(CONFIG, env="demo", data_dir=tmp_path, database_url=url)


def test_a_second_start_trusts_the_marker_only_while_nothing_changed(tmp_path: Path) -> None:
    config = _config_on_the_test_database(tmp_path)
    assert serve_state.recall(config) is None  # never prepared
    key = _seed_everything()
    prepared = serve_state.Prepared(admin_key=key, notes="fx rates: ...\n")
    serve_state.remember(config, prepared)
    assert serve_state.recall(config) == prepared
    assert (tmp_path / serve_state.MARKER).stat().st_mode & 0o077 == 0  # it holds the demo admin key

    other_port = dataclasses.replace(config, public_url="http://127.0.0.1:9999")
    assert serve_state.recall(other_port) is None  # other settings: prepare again
    with connection.cursor() as cursor:  # a migration the marker did not see
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied)"
            " VALUES ('topup', 'zz_probe', CURRENT_TIMESTAMP)"
        )
    assert serve_state.recall(config) is None
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE name = 'zz_probe'")
    assert serve_state.recall(config) == prepared
    with connection.cursor() as cursor:  # the demo's admin key revoked or the database replaced
        cursor.execute("DELETE FROM api_key")
    assert serve_state.recall(config) is None


def test_production_always_prepares(tmp_path: Path) -> None:
    config = _config_on_the_test_database(tmp_path)
    serve_state.remember(config, serve_state.Prepared(admin_key=_seed_everything(), notes=""))
    assert serve_state.recall(dataclasses.replace(config, env="production")) is None
