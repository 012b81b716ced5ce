"""`topup bench` against the local demo checks the trial balance with the demo's admin key when none is
given, and says so; never for a remote URL or in production."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from pathlib import Path

import pytest

import topup.bench
from topup.bench import DEMO_ADMIN_KEY_FILE, _ledger, local_demo_admin_key
from topup.services import seed
from topup.settings import CONFIG


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("topup.settings.CONFIG", dataclasses.replace(CONFIG, data_dir=tmp_path, env="demo"))
    return tmp_path


def test_the_file_is_the_seeds() -> None:
    assert DEMO_ADMIN_KEY_FILE == seed.DEMO_ADMIN_KEY_FILE


def test_the_demo_key_is_used_only_for_the_local_demo(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = "http://127.0.0.1:8000"
    assert local_demo_admin_key(local) is None  # no file
    (data_dir / DEMO_ADMIN_KEY_FILE).write_text("tpk_demoadmin_secret\n", encoding="ascii")
    assert local_demo_admin_key(local) == ("tpk_demoadmin_secret", data_dir / DEMO_ADMIN_KEY_FILE)
    assert local_demo_admin_key("https://topup.example") is None
    production = dataclasses.replace(CONFIG, data_dir=data_dir, env="production")
    monkeypatch.setattr("topup.settings.CONFIG", production)
    assert local_demo_admin_key(local) is None


def test_the_ledger_is_checked_with_it_and_the_report_says_so(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data_dir / DEMO_ADMIN_KEY_FILE).write_text("tpk_demoadmin_secret", encoding="ascii")
    used: list[str] = []

    async def trial_balance(_peer: object, _url: str, admin_key: str) -> bool:
        used.append(admin_key)
        return True

    monkeypatch.setattr(topup.bench, "trial_balance", trial_balance)
    notes: list[str] = []
    args = argparse.Namespace(admin_key=None)
    assert asyncio.run(_ledger(object(), args, "http://127.0.0.1:8000", notes)) is True  # type: ignore[arg-type]
    assert used == ["tpk_demoadmin_secret"]
    assert notes == [f"trial balance read with the local demo's admin key ({data_dir / DEMO_ADMIN_KEY_FILE})"]
    notes.clear()
    assert asyncio.run(_ledger(object(), args, "http://10.0.0.5:8000", notes)) is None  # type: ignore[arg-type]
    assert notes == ["no admin key (--admin-key or TOPUP_ADMIN_KEY): the trial balance was not checked"]
