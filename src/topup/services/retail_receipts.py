"""A shop sale's receipt: the sale (or its void, or the return receipt of its refund) as `ReceiptData`,
in the customer's language, and drawn as JSON, text, ESC/POS or PDF (services/receipts renders)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from topup.db.models import Order, Sale, Voucher
from topup.domain.money import Money, split_vat
from topup.domain.promotions import AppliedPromotion
from topup.domain.receipts import ChangeAs, Payment, PinCode, ReceiptData, ReceiptKind, Seller, Tender
from topup.domain.retail import SaleStatus
from topup.pii import mask_msisdn
from topup.services import catalogue, plan_text, receipts
from topup.services.retail_documents import promotions_of

PIN_NOT_SHOWN = "••••"  # the PIN is erased once the void window is over: a reprint shows only the serial
KINDS = {
    SaleStatus.SOLD: ReceiptKind.SALE,
    SaleStatus.VOIDED: ReceiptKind.VOID,
    SaleStatus.REFUNDED: ReceiptKind.REFUND,
}
FORMATS = ("json", "text", "escpos", "pdf")


def receipt_data(sale: Sale) -> ReceiptData:
    retailer, currency = sale.retailer, sale.currency
    total = Money(sale.price_minor, currency)
    split = split_vat(total)
    network_name = (
        plan_text.network_brand(catalogue.plan_and_network(sale.plan_id)[1].id) if sale.plan_id else ""
    )
    msisdn_masked = order_id = None
    pin = None
    promotions: tuple[AppliedPromotion, ...] = ()
    if sale.order_id is not None:
        order = Order.objects.get(id=sale.order_id)
        msisdn_masked, order_id = mask_msisdn(order.msisdn), order.id
        promotions = tuple(AppliedPromotion.from_dict(item) for item in promotions_of(order.quote))
    if sale.voucher_id is not None:
        voucher = Voucher.objects.get(id=sale.voucher_id)
        pin = PinCode(sale.pin or PIN_NOT_SHOWN, voucher.id, voucher.expires_at.date())
    return ReceiptData(
        kind=KINDS[SaleStatus(sale.status)], language=sale.language,
        seller=Seller(retailer.name, tuple(retailer.address_lines), retailer.vat_number, sale.terminal_id),
        sale_id=sale.id, terminal_ref=sale.terminal_ref, at=sale.ended_at or sale.sold_at,
        network_name=network_name, plan_name=plan_text.plan_title(sale.plan_id, sale.language), total=total,
        net=split.net,
        vat=split.vat, vat_rate_bp=split.rate_bp, payment=_payment(sale), msisdn_masked=msisdn_masked,
        order_id=order_id, pin=pin, promotions=promotions,
    )  # fmt: skip


def _payment(sale: Sale) -> Payment:
    if sale.tender == Tender.CARD:
        return Payment(Tender.CARD)
    given = None if sale.cash_given_minor is None else Money(sale.cash_given_minor, sale.currency)
    change = None if sale.change_minor is None else Money(sale.change_minor, sale.currency)
    return Payment(Tender.CASH, given=given, change=change, change_as=ChangeAs.CASH if change else None)


def render(sale: Sale, format_: str) -> tuple[bytes | str | dict[str, object], str]:
    """The receipt in `format_` and its content type."""
    data = receipt_data(sale)
    if format_ == "text":
        return receipts.render_text(data), "text/plain; charset=utf-8"
    if format_ == "escpos":
        return receipts.render_escpos(data), "application/octet-stream"
    if format_ == "pdf":
        return receipts.render_pdf(data), "application/pdf"
    return document(data), "application/json"


def document(data: ReceiptData) -> dict[str, object]:
    """The receipt data as JSON: money as {amount_minor, currency}, dates as ISO 8601."""
    return {name: _plain(value) for name, value in dataclasses.asdict(data).items()}


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
