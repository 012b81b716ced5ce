"""A shop's receipt (`domain.receipts.ReceiptData`) rendered as plain text, ESC/POS bytes and PDF.

One content (`content.blocks`, in the customer's language) is laid out once in printer columns
(`layout.lay_out`) and drawn three ways, so the three never say different things. 42 columns fit an 80 mm
roll; 32 a 58 mm one.
"""

from __future__ import annotations

from topup.domain.receipts import ReceiptData
from topup.services.receipts.content import blocks
from topup.services.receipts.fonts import script_for
from topup.services.receipts.layout import WIDE_80MM, Kind, center, lay_out

__all__ = ["render_escpos", "render_pdf", "render_text"]


def render_text(data: ReceiptData, *, width: int = WIDE_80MM) -> str:
    """The receipt as plain text lines of `width` columns (a CJK character counts two)."""
    out = []
    for line in lay_out(blocks(data), width):
        if line.kind is Kind.QR:
            continue
        out.append(center(line.text.strip(), width) if line.big else line.text)
    return "\n".join(out) + "\n"


def render_escpos(data: ReceiptData, *, width: int = WIDE_80MM) -> bytes:
    """The receipt as the bytes an ESC/POS thermal printer prints (see `receipts.escpos`)."""
    from topup.services.receipts import escpos  # noqa: PLC0415 - python-escpos costs every process 0.2 s to import

    lines = lay_out(blocks(data), width)
    return escpos.render(lines, script_for(data.language, (line.text for line in lines)), width)


def render_pdf(data: ReceiptData) -> bytes:
    """The receipt as a one-page PDF of an 80 mm roll, fonts embedded."""
    from topup.services.receipts import pdf  # noqa: PLC0415 - fpdf2 costs every process 0.2 s to import

    lines = lay_out(blocks(data), WIDE_80MM)
    script = script_for(data.language, (line.text for line in lines))
    return pdf.render(lines, script, f"{data.seller.name} {data.sale_id}")
