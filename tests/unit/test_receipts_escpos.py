"""ESC/POS bytes from python-escpos's Dummy printer: init first, the PIN big and bold, a QR code of the redeem
page, the cut last; Chinese as a raster image (no GB18030 text a European printer would print as garbage)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from PIL import Image, ImageChops, ImageOps

from topup.services.receipts import render_escpos, render_text
from topup.services.receipts.content import blocks, redeem_url
from topup.services.receipts.escpos import LINE_DOTS, picture, printable_as_text
from topup.services.receipts.layout import NARROW_58MM, WIDE_80MM, Kind, Line, lay_out
from topup.services.receipts.sample import SAMPLE_PIN, sample_receipt
from topup.settings import CONFIG

INIT = b"\x1b@"  # ESC @
CUT = b"\x1dV"  # GS V
RASTER = b"\x1dv0"  # GS v 0
QR_STORE = b"\x1d(k"  # GS ( k
QR_DATA = re.compile(rb"\x1d\(k..1P0", re.DOTALL)  # GS ( k pL pH 49 80 48: store a QR code's data
BIG_BOLD = b"\x1b!0\x1bE\x01"  # ESC ! (double height + width), ESC E 1 (bold)


def raster_images(output: bytes) -> list[Image.Image]:
    """Every GS v 0 image in `output`, as sent: 1 bits are black dots, rows padded to whole bytes."""
    images, start = [], output.find(RASTER)
    while start != -1:
        header = output[start + 4 : start + 8]
        width_bytes, height = header[0] + 256 * header[1], header[2] + 256 * header[3]
        bits = output[start + 8 : start + 8 + width_bytes * height]
        images.append(Image.frombytes("1", (width_bytes * 8, height), bits))
        start = output.find(RASTER, start + 8 + width_bytes * height)
    return images


def raster_rows(output: bytes) -> int:
    return sum(image.height for image in raster_images(output))


@pytest.mark.parametrize("width", [WIDE_80MM, NARROW_58MM])
@pytest.mark.parametrize("language", ["en", "nl", "fr", "de", "zh-hans"])
def test_starts_with_init_and_ends_with_the_cut(language: str, width: int) -> None:
    output = render_escpos(sample_receipt(language), width=width)
    assert output.startswith(INIT)
    assert CUT in output[-8:]


def test_the_pin_is_printed_big_and_bold_and_the_qr_code_names_the_redeem_page() -> None:
    output = render_escpos(sample_receipt("en"))
    pin_at = output.index(b"1234 5678 9012 34")
    assert BIG_BOLD in output[pin_at - 24 : pin_at]
    assert QR_STORE in output
    assert redeem_url().encode() in output[output.index(QR_STORE) :]
    assert b"Nachtwinkel De Zon" in output


def test_latin_languages_print_as_text_with_the_euro_in_a_code_page() -> None:
    output = render_escpos(sample_receipt("de"))
    assert RASTER not in output
    assert output.startswith(INIT + b"\x1bt\x13")  # ESC t 19: code page 858, set once
    assert output.count(b"\x1bt") == 1
    assert b"Gesamt" in output
    assert b"20,00 \xd5" in output
    assert "Rückgeld".encode("cp858") in output


def test_chinese_goes_as_a_picture_and_the_digits_as_text() -> None:
    data = sample_receipt("zh-hans")
    output = render_escpos(data)
    assert "合计".encode("gb18030") not in output
    assert SAMPLE_PIN.encode() in output  # the SMS and USSD lines' digits are text a scanner can read
    assert b"1234 5678 9012 34" in output
    not_text = [line for line in render_text(data).splitlines() if not printable_as_text(line)]
    assert len(not_text) > 10
    assert raster_rows(output) == LINE_DOTS * len(not_text)  # every Chinese line is in the pictures


def test_a_direct_top_up_has_a_qr_code_of_my_line_not_of_the_redeem_page() -> None:
    output = render_escpos(sample_receipt("en", pin_sale=False))
    assert len(QR_DATA.findall(output)) == 1
    assert f"{CONFIG.public_url}/my".encode() in output[output.index(QR_STORE) :]
    assert redeem_url().encode() not in output
    assert b"+32 470 ** ** 56" in output


def test_a_chinese_shop_name_on_a_dutch_receipt_is_the_only_picture() -> None:
    data = sample_receipt("nl")
    data = dataclasses.replace(data, seller=dataclasses.replace(data.seller, name="华人超市"))
    output = render_escpos(data)
    assert raster_rows(output) == 2 * LINE_DOTS  # the name, double size; everything else is text
    assert b"Totaal" in output


def test_the_pictures_sent_are_exactly_the_chinese_lines_drawn_in_the_cjk_font() -> None:
    data = sample_receipt("zh-hans")
    groups: list[list[Line]] = [[]]
    for line in lay_out(blocks(data), WIDE_80MM):
        drawn = line.kind is not Kind.QR and not printable_as_text(line.text)
        if drawn:
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    groups = [group for group in groups if group]
    sent = raster_images(render_escpos(data))
    assert len(sent) == len(groups)
    for group, image in zip(groups, sent, strict=True):
        expected = Image.new("1", image.size, 0)
        expected.paste(ImageOps.invert(picture(group, "cjk", WIDE_80MM).convert("L")).convert("1"))
        assert ImageChops.difference(expected, image).getbbox() is None
        assert image.getbbox() is not None  # not blank
