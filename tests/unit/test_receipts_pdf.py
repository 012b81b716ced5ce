"""The PDF receipt: an 80 mm page whose text reads back (pypdf), fonts embedded, Chinese with real glyphs."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from topup.services.receipts import fonts, render_pdf, render_text
from topup.services.receipts.fonts import FontMissing, font_for
from topup.services.receipts.sample import SAMPLE_PIN, SAMPLE_SERIAL, sample_receipt

POINTS_PER_MM = 72 / 25.4


def pdf_text(document: bytes) -> str:
    reader = PdfReader(io.BytesIO(document))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def squeezed(text: str) -> str:
    """`text` without white space, nor the NULs pypdf leaves: it reads the two-byte codes of fpdf2's embedded
    CMap (CJK fonts) one byte at a time, so every character comes back with a NUL (poppler reads it right)."""
    return re.sub(r"[\s\x00]+", "", text)


@pytest.mark.parametrize("language", ["en", "nl", "fr", "de"])
def test_the_pdf_text_has_the_retailer_the_pin_and_its_serial(language: str) -> None:
    document = render_pdf(sample_receipt(language))
    assert document.startswith(b"%PDF-")
    text = pdf_text(document)
    assert "Nachtwinkel De Zon" in text
    assert "1234 5678 9012 34" in text
    assert SAMPLE_SERIAL in text
    assert SAMPLE_PIN in text  # in the SMS and USSD instructions


def test_the_page_is_an_80_mm_roll_as_long_as_the_receipt() -> None:
    short = PdfReader(io.BytesIO(render_pdf(sample_receipt("en", pin_sale=False)))).pages[0]
    long = PdfReader(io.BytesIO(render_pdf(sample_receipt("en")))).pages[0]
    assert round(float(short.mediabox.width) / POINTS_PER_MM) == 80
    assert float(short.mediabox.height) < float(long.mediabox.height)


def test_chinese_reads_back_in_an_embedded_cjk_font() -> None:
    document = render_pdf(sample_receipt("zh-hans"))
    text = squeezed(pdf_text(document))
    for words in ("合计", "您的充值PIN码", "序列号", "有效期至", "请保留此收据。", "充值12345678901234"):
        assert words in text
    assert b"NotoSansMonoCJKSC" in document
    assert b"/FontFile3" in document


def test_every_character_of_a_chinese_receipt_has_a_glyph_in_its_font() -> None:
    """No tofu: the font drawing the receipt has each character, so nothing prints as an empty box."""
    for bold in (False, True):
        found = font_for("cjk", bold=bold)
        cmap = TTFont(found.path, fontNumber=found.index, lazy=True).getBestCmap()
        text = render_text(sample_receipt("zh-hans")) + render_text(sample_receipt("zh-hans", pin_sale=False))
        missing = {char for char in text if not char.isspace() and ord(char) not in cmap}
        assert missing == set()


def test_a_missing_font_is_a_clear_error_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "font_dirs", list)
    fonts._find.cache_clear()
    try:
        with pytest.raises(FontMissing, match="fonts-noto-cjk"):
            render_pdf(sample_receipt("zh-hans"))
    finally:
        fonts._find.cache_clear()


def test_a_chinese_shop_name_on_a_dutch_receipt_is_drawn_in_the_cjk_font() -> None:
    data = dataclasses.replace(
        sample_receipt("nl"),
        seller=dataclasses.replace(sample_receipt("nl").seller, name="华人超市 Anspach"),
    )
    document = render_pdf(data)
    assert b"NotoSansMonoCJKSC" in document
    assert "华人超市Anspach" in squeezed(pdf_text(document))
    assert "Totaal" in squeezed(pdf_text(document))


def test_without_dejavu_a_latin_receipt_falls_back_to_the_cjk_face(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find = fonts._find
    monkeypatch.setattr(fonts, "_find", lambda name: None if name.startswith("DejaVu") else real_find(name))
    found = font_for("latin")
    assert found == font_for("cjk")
    text = pdf_text(render_pdf(sample_receipt("fr")))
    assert "Réseau" in squeezed(text)
    assert "20,00€" in squeezed(text)
