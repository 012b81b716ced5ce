"""What a kiosk's cash session turns into: the retailer's sale (`services.retail.sell`, tender cash) and,
when the customer overpaid, a second sale of extra credit for the difference; then the receipt, printed
through the ESC/POS renderer and shown on the screen.

The first sale takes exactly its price in cash and the change sale the difference, so the kiosk's shift
counts every inserted euro as cash taken and no change given (the kiosk gives none back)."""

from __future__ import annotations

import logging

from topup.db.models import KioskCashSession, Sale
from topup.domain.money import Money, split_vat
from topup.domain.receipts import ChangeAs, Payment, ReceiptData, ReceiptKind, Seller, Tender
from topup.pii import mask_msisdn
from topup.services import catalogue, kiosk_devices, kiosk_printer, plan_text, receipts, retail, shifts

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


def sell_for_cash(session: KioskCashSession, change_plan_id: str, change_minor: int) -> tuple[str, str]:
    """The sale of the session's plan, and the change top-up (plan `change_plan_id`) if one is owed.
    Call inside the transaction that closes the session: both sales commit with it or not at all."""
    _open_shift(session.terminal_id)
    sale_id = _sell(session, session.id, session.plan_id, session.price_minor)
    if not change_plan_id:
        return sale_id, ""
    return sale_id, _sell(session, f"{session.id}-change", change_plan_id, change_minor)


def plan_label(plan_id: str, language: str) -> str:
    """The plan as the customer reads it, in their language: the network's brand and the plan's title."""
    plan, network = catalogue.plan_and_network(plan_id)
    return f"{plan_text.network_brand(network.id)} {plan_text.title_of(plan, language)}"


def receipt_data(session: KioskCashSession) -> ReceiptData:
    """The sale's receipt: the retailer's details, the number masked, what was inserted and the change
    given as credit (the change sale's plan)."""
    sale = Sale.objects.select_related("retailer", "order").get(id=session.sale_id)
    retailer = sale.retailer
    total = Money(sale.price_minor, sale.currency)
    split = split_vat(total)
    inserted = Money(session.inserted_minor, session.currency)
    change = inserted - total
    return ReceiptData(
        kind=ReceiptKind.SALE, language=session.language,
        seller=Seller(retailer.name, tuple(retailer.address_lines), retailer.vat_number, sale.terminal_id),
        sale_id=sale.id, terminal_ref=sale.terminal_ref, at=sale.sold_at,
        network_name=plan_text.network_brand(session.network_id),
        plan_name=plan_label(session.plan_id, session.language), total=total, net=split.net, vat=split.vat,
        vat_rate_bp=split.rate_bp,
        payment=Payment(
            Tender.CASH, given=inserted, change=change if change.is_positive() else None,
            change_as=ChangeAs.CREDIT if change.is_positive() else None,
        ),
        msisdn_masked=mask_msisdn(session.msisdn), order_id=sale.order_id,
    )  # fmt: skip


def print_receipt(data: ReceiptData) -> str:
    """Print the receipt through the ESC/POS renderer and return its text for the screen; a printer that
    fails is logged (the screen still shows the receipt)."""
    try:
        kiosk_printer.send(receipts.render_escpos(data), kiosk_devices.of(data.seller.terminal_id).printer)
    except kiosk_printer.PrinterError:
        log.warning("kiosk printer failed sale=%s", data.sale_id)
    return receipts.render_text(data)
