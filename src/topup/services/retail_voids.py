"""Money back to a shop's float: a sale voided at the till, or a direct top-up the carrier did not deliver.

A void is decided under row locks, in one transaction with everything it changes: the terminal's shift
(as every sale takes it), the sale, then the order (a direct top-up is voidable only while still `paid`:
no worker has sent it to the carrier) or the voucher (a PIN only while unused, within 72 h; voided by a
conditional UPDATE, so a redemption racing it wins or loses whole), then the retailer's row and last the
ledger's shared accounts (the order in which a sale takes them, so the two cannot deadlock). The price
goes back on the float, the commission is taken back, and the shift records the money handed back.

`RetailPaymentProvider` is the `retail` payment provider: the refund of an undelivered direct top-up's
order (the refund job) is the same money back to the float, recorded in the terminal's open shift (or the
next one) so that the shop can hand the customer a return receipt and its cash.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F

from topup.clock import now
from topup.db import ledger
from topup.db.models import Order, Payment, Retailer, Sale, Shift, ShiftMovement, Voucher
from topup.domain import ledger as postings
from topup.domain import retail as rules
from topup.domain.errors import Conflict, NotFound
from topup.domain.money import Money
from topup.domain.orders import OrderStatus
from topup.domain.shifts import MovementKind
from topup.domain.vouchers import VoucherState
from topup.ports import RefundResult, RefundState
from topup.services import refunds, vouchers
from topup.services.retail import PROVIDER, active_terminal, lock_open_shift
from topup.services.retail_documents import sale_document
from topup.services.spot_payments import SettledOnTheSpot
from topup.services.transitions import move

log = logging.getLogger(__name__)


def find_sale(terminal_id: str, terminal_ref: str) -> Sale:
    """The terminal's own sale; another terminal's (or retailer's) reference is simply not found."""
    sale = Sale.objects.filter(terminal_id=terminal_id, terminal_ref=terminal_ref).first()
    if sale is None:
        raise NotFound("no such sale on this terminal", code="sale_not_found", field="terminal_ref")
    return sale


def void(terminal_id: str, terminal_ref: str) -> dict[str, object]:
    """Void the terminal's sale; a void asked again answers the voided sale (the terminal may retry)."""
    terminal = active_terminal(terminal_id)
    found = find_sale(terminal.id, terminal_ref)
    if found.status == rules.SaleStatus.VOIDED:
        return sale_document(found)
    at = now()
    with transaction.atomic():
        shift = lock_open_shift(terminal.id)
        sale = Sale.objects.select_for_update().get(id=found.id)
        rules.check_sold(sale.status)
        order = _voidable_order(sale) if sale.order_id is not None else None
        if order is None:
            _void_pin(sale, at)
        # Locks in the order a sale takes them: the retailer's row before the ledger's shared accounts.
        _return_to_float(sale)
        if order is not None:
            _refund_order(order, sale, at)
        _book_back(sale, at, code="retail_void", kind=MovementKind.VOID, shift_id=shift.id)
        sale.status, sale.ended_at = rules.SaleStatus.VOIDED.value, at
        Sale.objects.filter(id=sale.id).update(status=sale.status, ended_at=at, pin="", pin_kept_until=None)
    log.info("shop sale voided", extra={"sale": sale.id, "order_id": sale.order_id})
    return sale_document(Sale.objects.get(id=sale.id))


def _voidable_order(sale: Sale) -> Order:
    """The sale's order, locked: voidable only while still `paid` (no worker has sent it to the carrier)."""
    order = Order.objects.select_for_update().get(id=sale.order_id)
    rules.check_direct_voidable(order.status)
    return order


def _refund_order(order: Order, sale: Sale, at: datetime) -> None:
    """The order ends refunded, its money back through this provider, as a refund job would settle it."""
    move(order, OrderStatus.DELIVERY_FAILED, at=at, code="sale_voided", failure_code="sale_voided")
    payment = Payment.objects.select_for_update().get(id=order.current_payment_id)
    Payment.objects.filter(id=payment.id).update(refund_status=refunds.REQUESTED)
    payment.refund_status = refunds.REQUESTED
    refunds.settle(order, payment, RefundState.SUCCEEDED, refund_ref=f"void:{sale.id}", code="", at=at)


def _void_pin(sale: Sale, at: datetime) -> None:
    voucher = Voucher.objects.select_for_update().get(id=sale.voucher_id)
    rules.check_pin_voidable(sale.sold_at, at, voucher.state)
    voided = Voucher.objects.filter(id=voucher.id, state=VoucherState.ACTIVE.value).update(
        state=VoucherState.VOID.value
    )
    if voided != 1:
        rules.check_pin_voidable(sale.sold_at, at, VoucherState.REDEEMED.value)


def _return_to_float(sale: Sale) -> None:
    """The price back on the float, less the commission taken back (the retailer's row)."""
    cost = rules.float_cost(
        Money(sale.price_minor, sale.currency), Money(sale.commission_minor, sale.currency)
    )
    Retailer.objects.filter(id=sale.retailer_id).update(float_minor=F("float_minor") + cost.amount_minor)


def _book_back(sale: Sale, at: datetime, *, code: str, kind: MovementKind, shift_id: str | None) -> None:
    """The same in the ledger, and the money handed back in the shift."""
    price = Money(sale.price_minor, sale.currency)
    commission = Money(sale.commission_minor, sale.currency)
    clearing = PROVIDER if sale.order_id is not None else vouchers.PROVIDER
    back = postings.retail_sale_reversed(sale.id, sale.retailer_id, clearing, price, commission, code=code)
    ledger.post(back, now=at)
    ShiftMovement.objects.create(
        terminal_id=sale.terminal_id, shift_id=shift_id, sale=sale, kind=kind.value, tender=sale.tender,
        amount_minor=sale.price_minor, at=at,
    )  # fmt: skip


def refund_to_float(sale_id: str) -> bool:
    """The refund of a direct top-up's order: once, idempotent; False for an unknown sale."""
    at = now()
    with transaction.atomic():
        terminal_id = Sale.objects.filter(id=sale_id).values_list("terminal_id", flat=True).first()
        if terminal_id is None:
            return False
        shift = Shift.objects.filter(terminal_id=terminal_id, closed_at__isnull=True).first()
        if shift is not None:
            try:
                shift = lock_open_shift(terminal_id)
            except Conflict:
                shift = None  # closed meanwhile: the next shift takes the refund
        sale = Sale.objects.select_for_update().get(id=sale_id)
        if sale.status != rules.SaleStatus.SOLD:
            return True  # refunded (or voided) already
        shift_id = None if shift is None else shift.id
        _return_to_float(sale)
        _book_back(sale, at, code="retail_refund", kind=MovementKind.REFUND, shift_id=shift_id)
        Sale.objects.filter(id=sale.id).update(status=rules.SaleStatus.REFUNDED.value, ended_at=at)
    log.info("shop sale refunded to the float", extra={"sale": sale_id})
    return True


class RetailPaymentProvider(SettledOnTheSpot):
    """The shops' float as a payment provider: paid at the sale; a refund puts the money back."""

    name = PROVIDER
    settled_how = "a shop's sale is paid from its float when it is made"

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        """`provider_ref` is the sale id."""
        if refund_to_float(provider_ref):
            return RefundResult(refund_ref=f"retail:{provider_ref}", succeeded=True)
        return RefundResult(refund_ref="", succeeded=False, code="sale_not_found")
