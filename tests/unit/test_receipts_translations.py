"""Every word a receipt or the voucher page prints has a real translation in the four other languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import topup

SRC = Path(topup.__file__).parent
LOCALES = ("nl", "fr", "de", "zh_Hans")
IN_CODE = re.compile(r'pgettext\(\s*"(receipt|voucher page)",\s*"((?:[^"\\]|\\.)*)"')
IN_TEMPLATE = re.compile(r'{% translate "((?:[^"\\]|\\.)*)" context "(voucher page)" %}')


def used() -> set[tuple[str, str]]:
    """(context, msgid) of the receipt renderers, the voucher page's view and its template."""
    found = set()
    for path in [*(SRC / "services/receipts").glob("*.py"), SRC / "channels/web/voucher_views.py"]:
        found |= {(context, msgid) for context, msgid in IN_CODE.findall(path.read_text())}
    template = (SRC / "channels/web/templates/topup/voucher.html").read_text()
    found |= {(context, msgid) for msgid, context in IN_TEMPLATE.findall(template)}
    return found


def test_the_receipt_words_are_found() -> None:
    assert len(used()) >= 40  # the regular expressions still see them all


@pytest.mark.parametrize("locale", LOCALES)
def test_every_receipt_word_is_translated(locale: str) -> None:
    with (SRC / "locale" / locale / "LC_MESSAGES" / "django.po").open("rb") as po:
        catalog = read_po(po)
    missing = []
    for context, msgid in sorted(used()):
        message = catalog.get(msgid, context=context)
        if message is None or not message.string or message.fuzzy:
            missing.append(f"{context}: {msgid}")
    assert missing == []
