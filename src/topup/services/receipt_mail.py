"""The e-mail receipt of an order, in the customer's language: HTML (inline styles, one narrow column that a
phone reads), the same in plain text, and the receipt as a PDF attachment. A new eSIM's receipt also carries
its QR code (an inline PNG in the HTML), the details to type in by hand and the install steps.

The receipt's lines are `services.receipts.content.blocks`, the very lines the PDF prints, so the e-mail and
its attachment never disagree. The activation code is in the body only: never in the subject or a log line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import segno
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from topup.db.models import Line, Order
from topup.domain.esim_catalogue import ESIM_APN
from topup.ports import Attachment
from topup.services.order_receipts import order_receipt
from topup.services.receipts import render_pdf, render_text
from topup.services.receipts.content import blocks
from topup.services.receipts.layout import Block, Kind

QR_CONTENT_ID: Final = "esim-qr@topup"
HTML_TEMPLATE: Final = "topup/email/receipt.html"
TEXT_TEMPLATE: Final = "topup/email/receipt.txt"
GONE_PROFILE_STATES: Final = frozenset({"cancelled", "deleted"})  # back in the SM-DP+ pool: not installable


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...]


def esim_qr_png(activation_code: str) -> bytes:
    """The QR code a phone scans to download the profile (`LPA:1$<SM-DP+ address>$<matching id>`)."""
    out = io.BytesIO()
    segno.make_qr(activation_code, mode="byte", error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def installable_esim(order: Order) -> Line | None:
    """The new eSIM this order bought, while its profile can still be installed; None for a top-up."""
    line = order.line if order.line_id else None
    if not order.iccid or line is None or line.iccid != order.iccid:
        return None
    if order.status != "delivered" or line.profile_state in GONE_PROFILE_STATES:
        return None
    return line


def order_mail(kind: str, order: Order, language: str, *, subject: str, intro: str) -> Mail:
    """The receipt (kind "receipt") or refund notice ("refund") of `order` as an e-mail in `language`;
    `subject` and `intro` are the notification's own words (the SMS text)."""
    data = order_receipt(order, language)
    line = installable_esim(order) if kind == "receipt" else None
    with translation.override(language):
        if line is not None:
            subject = _("Your eSIM is ready")
            intro = _("Your eSIM is ready to install: scan the QR code below with the phone that will use "
                      "it.")  # fmt: skip
        context = {
            "language": language,
            "subject": subject,
            "intro": intro,
            "rows": [_row(block) for block in blocks(data) if block.kind is not Kind.QR],
            "receipt_text": render_text(data),
            "attached": _("Your receipt is attached as a PDF."),
            "esim": _esim_context(line) if line is not None else None,
        }
        html = render_to_string(HTML_TEMPLATE, context)
        text = render_to_string(TEXT_TEMPLATE, context)
    attachments = [Attachment(f"receipt-{order.id}.pdf", "application/pdf", render_pdf(data))]
    if line is not None:
        attachments.append(
            Attachment("esim-qr.png", "image/png", esim_qr_png(line.activation_code), QR_CONTENT_ID)
        )
    return Mail(subject, text, html, tuple(attachments))


def _row(block: Block) -> dict[str, object]:
    return {
        "kind": str(block.kind),
        "text": block.text,
        "value": block.value,
        "bold": block.bold or block.kind in {Kind.TITLE, Kind.PIN},
        "centered": block.kind in {Kind.TITLE, Kind.CENTER, Kind.PIN},
    }


def _esim_context(line: Line) -> dict[str, object]:
    """What the order page shows to install the eSIM, in the active language (the same wording)."""
    return {
        "title": _("Install your eSIM"),
        "qr_alt": _("QR code for your eSIM"),
        "qr_cid": QR_CONTENT_ID,
        "same_phone": _("Reading this on the same phone? Enter the details manually."),
        "activation_label": _("Activation code"),
        "activation_code": line.activation_code,
        "manual_title": _("Enter details manually"),
        "manual": [
            (_("SM-DP+ address"), line.smdp_address),
            (_("Activation code (matching ID)"), line.matching_id),
            (_("APN"), ESIM_APN),
        ],
        "steps": [
            (
                "iPhone",
                [
                    _("Open Settings › Mobile Service › Add eSIM."),  # noqa: RUF001 - the msgid of the order page
                    _("Tap Use QR Code and scan the code, or tap Enter Details Manually."),
                ],
            ),
            (
                "Android",
                [
                    _("Open Settings › Network & internet › SIMs › Add eSIM (or Download a SIM)."),  # noqa: RUF001
                    _("Scan the QR code, or enter the activation code."),
                ],
            ),
        ],
        "notes": [
            _("Turn on data roaming for this eSIM if your phone asks."),
            _("Keep the QR code: it can be installed only once."),
        ],
        "iccid": line.iccid,
    }
