"""Which .env files the settings read: the working directory's; else the checkout's, but never the
checkout's in a process whose environment says TOPUP_ENV=production; `topup doctor` says which."""

from __future__ import annotations

from pathlib import Path

import pytest

from topup import doctor, settings


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    (root / ".env").write_text("TOPUP_ENV=demo\n", encoding="utf-8")
    monkeypatch.setattr(settings, "CHECKOUT", root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("TOPUP_ENV", raising=False)
    return root


def test_the_checkouts_env_is_read_from_another_folder(checkout: Path) -> None:
    assert settings._dotenv_files() == (checkout / ".env",)


def test_never_in_production(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_ENV", "production")
    assert settings._dotenv_files() == ()


def test_never_when_the_working_folder_has_its_own(checkout: Path) -> None:
    own = Path.cwd() / ".env"
    own.write_text("TOPUP_ENV=production\n", encoding="utf-8")
    assert settings._dotenv_files() == (own,)


def test_the_doctor_says_which_were_read(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "DOTENV_FILES", (checkout / ".env",))
    assert doctor.dotenv_finding().line() == f"ok    config: .env: read: {checkout / '.env'}"
    monkeypatch.setattr(settings, "DOTENV_FILES", ())
    assert doctor.dotenv_finding().detail == "read: none (the process environment only)"
