"""A receipt as ESC/POS bytes, built with python-escpos's `Dummy` printer (it records what a printer gets).

Lines a printer's own code pages can print go as text (bold, double size for the title and the PIN); the
others go as a raster image. Thermal printers sold in Europe have no Chinese in their text mode, and
python-escpos writes Chinese as raw GB18030 bytes that only a printer already switched to Chinese would
understand (and a European one prints as accented garbage). So a Chinese receipt is printed as a picture drawn
with Noto Sans Mono CJK, which every ESC/POS printer with `GS v 0` raster support prints; the digits of the
PIN, the serial and the URLs stay text, sharp and readable by a scanner. A QR code of the redeem page follows
the instructions, and the paper is cut.
"""

from __future__ import annotations

from typing import Final

from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

from topup.services.receipts.fonts import font_for
from topup.services.receipts.layout import NARROW_58MM, WIDE_80MM, Kind, Line

# The printer profile (code pages, paper width in dots, a cutter) per receipt width: an Epson TM-T20II in
# its 42-column mode (546 dots) and a Seiko RP-F10 on 58 mm paper (432 dots).
PROFILES: Final = {WIDE_80MM: "TM-T20II-42col", NARROW_58MM: "RP-F10-58mm"}
DOTS_PER_COLUMN: Final = 13  # 42 columns in 546 dots, 32 in 416
LINE_DOTS: Final = 30  # a line of 26-dot text and its leading
TEXT_CODEPAGE: Final = "cp858"  # Latin-1 with the euro sign: what a line must fit to be printed as text


def printable_as_text(text: str) -> bool:
    try:
        text.encode(TEXT_CODEPAGE)
    except UnicodeEncodeError:
        return False
    return True


def render(lines: list[Line], language: str, width: int) -> bytes:
    """The ESC/POS bytes of the laid-out `lines`: init, text and raster lines, QR codes, feed and cut."""
    printer = Dummy(profile=PROFILES[width])
    printer.hw("INIT")
    pending: list[Line] = []  # consecutive lines that must go as one picture
    for line in lines:
        if line.kind is Kind.QR:
            _flush(printer, pending, language, width)
            printer.set(align="center")  # a native QR code follows the justification (ESC a)
            printer.qr(line.text, size=6, native=True)
        elif printable_as_text(line.text):
            _flush(printer, pending, language, width)
            _text(printer, line)
        else:
            pending.append(line)
    _flush(printer, pending, language, width)
    printer.cut()
    return bytes(printer.output)


def _text(printer: Dummy, line: Line) -> None:
    big = line.big
    printer.set(align="left", bold=line.bold, double_width=big, double_height=big, normal_textsize=not big)
    printer.text(line.text + "\n")


def _flush(printer: Dummy, pending: list[Line], language: str, width: int) -> None:
    if pending:
        printer.set(align="left", normal_textsize=True, bold=False)
        printer.image(picture(pending, language, width), center=False)
        pending.clear()


def picture(lines: list[Line], language: str, width: int) -> Image.Image:
    """`lines` drawn black on white in the receipt font, one column = `DOTS_PER_COLUMN` dots."""
    size = DOTS_PER_COLUMN * 2  # the font's Latin advance is half an em: 2 columns per em
    fonts = {
        (bold, big): ImageFont.truetype(str(font.path), size * (2 if big else 1), index=font.index)
        for bold in (False, True)
        for big in (False, True)
        for font in (font_for(language, bold=bold),)
    }
    height = sum(LINE_DOTS * (2 if line.big else 1) for line in lines)
    image = Image.new("1", (width * DOTS_PER_COLUMN, height), 1)
    draw = ImageDraw.Draw(image)
    top = 0
    for line in lines:
        scale = 2 if line.big else 1
        draw.text((0, top), line.text, font=fonts[(line.bold, line.big)], fill=0)
        top += LINE_DOTS * scale
    return image
