"""Every customer-facing error message exists in Dutch, French, German and Simplified Chinese,
and the API answers in the language the client asks for with `Accept-Language`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client, override_settings
from django.utils.translation import override

from topup.channels.messages import MESSAGES

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "topup" / "locale"
# Django language code (as in settings.LANGUAGES and Accept-Language) -> locale directory name
LANGUAGES = {"nl": "nl", "fr": "fr", "de": "de", "zh-hans": "zh_Hans"}
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[sdif]|\{[^{}]*\}")


def _po(directory: str) -> Path:
    return LOCALE_DIR / directory / "LC_MESSAGES" / "django.po"


def _compile(po: Path) -> None:
    """Babel's compile into a temporary file, then an atomic rename: safe under pytest-xdist."""
    mo = po.with_suffix(".mo")
    tmp = po.with_name(f"django.{os.getpid()}.tmp.mo")
    args = [sys.executable, "-m", "babel.messages.frontend", "compile", "-D", "django"]
    subprocess.run([*args, "-i", str(po), "-o", str(tmp)], check=True, capture_output=True)
    tmp.replace(mo)


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> Iterator[None]:
    """The .mo files are build products (git-ignored): compile any missing or stale one, so that a
    clean clone passes; then reset Django's translation caches, which may predate the new files."""
    for directory in LANGUAGES.values():
        po = _po(directory)
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            _compile(po)
    # Same value: entering/leaving override_settings sends setting_changed, which clears the caches.
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


def _english(code: str) -> str:
    with override("en"):
        return str(MESSAGES[code])


def _catalogue(directory: str) -> dict[str, str]:
    with _po(directory).open("rb") as f:
        catalog = read_po(f)
    return {str(m.id): str(m.string) for m in catalog if m.id and not m.fuzzy}


def test_settings_look_for_our_catalogues() -> None:
    assert LOCALE_DIR in [Path(p).resolve() for p in settings.LOCALE_PATHS]
    codes = {code for code, _name in settings.LANGUAGES}
    assert set(LANGUAGES) <= codes


@pytest.mark.parametrize("directory", LANGUAGES.values())
def test_catalogue_has_every_error_message(directory: str) -> None:
    catalogue = _catalogue(directory)
    assert {_english(code) for code in MESSAGES} <= set(catalogue)  # page strings are there too
    assert all(catalogue.values()), "untranslated entries"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", MESSAGES)
def test_every_error_message_is_translated(code: str, language: str) -> None:
    english = _english(code)
    with override(language):
        translated = str(MESSAGES[code])
    assert translated.strip()
    assert translated != english, f"{code} is not translated into {language}"
    assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(english))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "directory"),
    [("zh-Hans", "zh_Hans"), ("nl", "nl"), ("fr", "fr"), ("de", "de"), ("nl-BE,nl;q=0.9,en;q=0.5", "nl")],
)
def test_api_error_speaks_the_requested_language(accept_language: str, directory: str) -> None:
    english = _english("invalid_msisdn")
    expected = _catalogue(directory)[english]

    response = Client().get("/api/v1/lookup", {"msisdn": "12"}, headers={"Accept-Language": accept_language})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_msisdn"
    assert error["message"] == expected
    assert error["message"] != english


@pytest.mark.django_db
def test_api_error_falls_back_to_english() -> None:
    response = Client().get("/api/v1/lookup", {"msisdn": "12"}, headers={"Accept-Language": "ja"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == _english("invalid_msisdn")
