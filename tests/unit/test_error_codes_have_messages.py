"""Every stable error code in the source has customer wording (or is declared internal), translated into
Dutch, French, German and Simplified Chinese. No database: the codes are found by reading the source."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils.translation import override  # noqa: E402

from topup.channels.messages import INTERNAL_CODES, MESSAGES, message_for  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src" / "topup"
LOCALE_DIR = SRC / "locale"
LANGUAGES = {"nl": "nl", "fr": "fr", "de": "de", "zh-hans": "zh_Hans"}

# `code="x"`, `code = "x"` (class attributes, variables) and the parsers' `_invalid(.., "x", ..)`
CODE = re.compile(r'\bcode\s*=\s*"([a-z_0-9.]+)"')
INVALID_HELPER = re.compile(r'_invalid\([^\n]*?,\s*"([a-z_0-9]+)",\s*"[a-z_0-9]+"\)')
# Built without a `code=` literal: the HTTP error codes of channels/api/errors.py
EXTRA_CODES = {"not_found", "method_not_allowed", "http_error"}
SMDP_MESSAGE = "The eSIM provider refused this request. Nothing was charged, or your money is refunded."


def _codes_in_source() -> set[str]:
    codes = set(EXTRA_CODES)
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes.update(CODE.findall(text))
        codes.update(INVALID_HELPER.findall(text))
    return codes


def _compile(po: Path) -> None:
    """Babel's compile into a temporary file, then an atomic rename: safe under pytest-xdist."""
    mo = po.with_suffix(".mo")
    tmp = po.with_name(f"django.{os.getpid()}.tmp.mo")
    args = [sys.executable, "-m", "babel.messages.frontend", "compile", "-D", "django"]
    subprocess.run([*args, "-i", str(po), "-o", str(tmp)], check=True, capture_output=True)
    tmp.replace(mo)


@pytest.fixture(scope="module")
def compiled_catalogues() -> Iterator[None]:
    """Compile any missing or stale .mo file, then reset Django's translation caches."""
    for directory in LANGUAGES.values():
        po = LOCALE_DIR / directory / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            _compile(po)
    # Same value: entering/leaving override_settings sends setting_changed, which clears the caches.
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


def test_the_scan_finds_codes() -> None:
    codes = _codes_in_source()
    assert {"invalid_msisdn", "invalid_eid", "line_not_found", "smdp_unavailable"} <= codes


def test_every_error_code_has_a_message_or_is_internal() -> None:
    missing = sorted(_codes_in_source() - set(MESSAGES) - INTERNAL_CODES)
    assert not missing, f"error codes without a customer message (add them to MESSAGES): {missing}"


def test_internal_codes_are_not_also_customer_codes() -> None:
    assert not INTERNAL_CODES & set(MESSAGES)


def test_internal_codes_get_the_generic_message() -> None:
    with override("en"):
        assert message_for("concurrent_update", "developer text") == str(MESSAGES["internal_error"])


def test_smdp_refusals_share_one_message() -> None:
    with override("en"):
        assert message_for("smdp_8.2.5_3.7") == SMDP_MESSAGE
        assert message_for("smdp_unknown_unknown") == SMDP_MESSAGE
        assert message_for("smdp_unavailable") == str(MESSAGES["smdp_unavailable"])


@pytest.mark.usefixtures("compiled_catalogues")
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    with override("en"):
        english = {code: str(message) for code, message in MESSAGES.items()}
    with override(language):
        translated = {code: str(message) for code, message in MESSAGES.items()}
        smdp = message_for("smdp_8.2.5_3.7")
    untranslated = sorted(code for code in MESSAGES if translated[code] == english[code])
    assert not untranslated, f"not translated into {language}: {untranslated}"
    assert smdp != SMDP_MESSAGE
