"""A receipt as a PDF page the size of an 80 mm till roll, drawn with fpdf2.

Why a roll, not A4: the PDF is the same receipt the shop prints (sent to a phone, or printed again through
CUPS on the shop's own thermal printer), and a 42-column receipt in the middle of an A4 sheet is mostly empty
paper; the page is as long as the receipt. Text is drawn in the monospaced receipt font (embedded, subset)
so the columns line up as on paper; the QR code of the redeem page is an image made by segno.
"""

from __future__ import annotations

import io
import logging
from typing import Final

import segno
from fpdf import FPDF

from topup.services.receipts.fonts import font_for
from topup.services.receipts.layout import WIDE_80MM, Kind, Line

PAGE_WIDTH_MM: Final = 80
MARGIN_MM: Final = 4
LINE_FACTOR: Final = 1.35  # line height as a multiple of the font size
QR_MM: Final = 30
MM_PER_PT: Final = 25.4 / 72
logging.getLogger("fontTools").setLevel(logging.WARNING)  # fpdf2's font subsetting logs every glyph at INFO


def render(lines: list[Line], language: str, title: str) -> bytes:
    """`lines` (laid out in 42 columns) on one page of an 80 mm roll, as long as they need."""
    pdf = FPDF(unit="mm")
    pdf.set_title(title)
    pdf.set_creator("Topup")
    pdf.set_auto_page_break(auto=False)
    for style, bold in (("", False), ("B", True)):
        font = font_for(language, bold=bold)
        pdf.add_font("receipt", style, str(font.path), collection_font_number=font.index)
    size_pt = _font_size(pdf)
    line_mm = size_pt * MM_PER_PT * LINE_FACTOR
    height = 2 * MARGIN_MM + sum(_height(line, line_mm) for line in lines)
    pdf.add_page(format=(PAGE_WIDTH_MM, height))
    top = float(MARGIN_MM)
    for line in lines:
        if line.kind is Kind.QR:
            pdf.image(_qr_png(line.text), x=(PAGE_WIDTH_MM - QR_MM) / 2, y=top + 1, w=QR_MM, h=QR_MM)
        elif line.text.strip():
            scale = 2 if line.big else 1
            pdf.set_font("receipt", "B" if line.bold else "", size_pt * scale)
            pdf.text(MARGIN_MM, top + line_mm * scale * 0.75, line.text)
        top += _height(line, line_mm)
    return bytes(pdf.output())


def _font_size(pdf: FPDF) -> float:
    """The size (pt) at which 42 columns of the font fill the printable width."""
    pdf.set_font("receipt", "", 10)
    column_mm = pdf.get_string_width("0")
    return 10 * (PAGE_WIDTH_MM - 2 * MARGIN_MM) / (WIDE_80MM * column_mm)


def _height(line: Line, line_mm: float) -> float:
    if line.kind is Kind.QR:
        return QR_MM + 2
    return line_mm * (2 if line.big else 1)


def _qr_png(url: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=2)
    out.seek(0)
    return out
