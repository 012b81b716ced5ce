"""What a kiosk's cash session turns into: the retailer's sale (`services.retail.sell`, tender cash) and,
when the customer overpaid, a second sale of extra credit for the difference; then the receipt, printed
through the ESC/POS renderer and shown on the screen.

The first sale takes exactly its price in cash and the change sale the difference, so the kiosk's shift
counts every inserted euro as cash taken and no change given (the kiosk gives none back)."""

from __future__ import annotations

import logging
from dataclasses import replace

from topup.db.models import KioskCashSession
from topup.domain.money import Money
from topup.domain.receipts import ChangeAs, ReceiptData
from topup.services import kiosk_printer, receipts, retail, retail_receipts, shifts

log = logging.getLogger(__name__)
KIOSK_OPERATOR = "kiosk"  # who opens a kiosk's shift: the kiosk itself, when it makes its first sale


def _open_shift(terminal_id: str) -> None:
    terminal = retail.active_terminal(terminal_id)
    if not terminal.shifts.filter(closed_at__isnull=True).exists():
        shifts.open_shift(terminal, opened_by=KIOSK_OPERATOR)


def _sell(session: KioskCashSession, ref: str, plan_id: str, cash_minor: int) -> str:
    request = retail.SaleRequest(
        terminal_ref=ref, plan_id=plan_id, kind="direct", msisdn=session.msisdn, tender="cash",
        language=session.language, cash_given_minor=cash_minor, network_confirmed=session.network_confirmed,
    )  # fmt: skip
    return str(retail.sell(session.terminal_id, request).document["id"])


def sell_for_cash(session: KioskCashSession, change_plan_id: str) -> tuple[str, str]:
    """The sale of the session's plan, and the change top-up (plan `change_plan_id`) if one is owed.
    Call inside the transaction that closes the session: both sales commit with it or not at all."""
    _open_shift(session.terminal_id)
    sale_id = _sell(session, session.id, session.plan_id, session.price_minor)
    if not change_plan_id:
        return sale_id, ""
    change_minor = session.inserted_minor - session.price_minor
    return sale_id, _sell(session, f"{session.id}-change", change_plan_id, change_minor)


def receipt_data(session: KioskCashSession) -> ReceiptData:
    """The sale's receipt, its payment saying what was inserted and how the change was given."""
    data = retail_receipts.receipt_data(session.sale_id)
    inserted = Money(session.inserted_minor, session.currency)
    change = inserted - data.total
    payment = replace(
        data.payment, given=inserted, change=change if change.is_positive() else None,
        change_as=ChangeAs.CREDIT if change.is_positive() else None,
    )  # fmt: skip
    return replace(data, payment=payment)


def receipt_text(session: KioskCashSession) -> str:
    return receipts.render_text(receipt_data(session))


def print_receipt(session: KioskCashSession) -> None:
    """Print the receipt; a printer that fails is logged (the screen still shows the receipt)."""
    try:
        kiosk_printer.send(receipts.render_escpos(receipt_data(session)))
    except kiosk_printer.PrinterError:
        log.warning("kiosk printer failed session=%s", session.id)
