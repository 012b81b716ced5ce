"""The receipt of an order paid online (web, API), as `domain.receipts.ReceiptData` for the shared renderers
(`services.receipts`): the PDF attached to the e-mail receipt, in the customer's language."""

from __future__ import annotations

from topup.db.models import Order, Payment
from topup.domain.money import Money
from topup.domain.quotes import Quote
from topup.domain.receipts import Payment as PaidWith
from topup.domain.receipts import ReceiptData, ReceiptKind, Tender
from topup.services.agent_receipts import line_label, seller_for
from topup.services.plan_text import network_brand, plan_title


def paid_with(order: Order) -> PaidWith:
    """How the order was paid: the payment that paid it (cash at a counter, else the online method)."""
    method = (
        Payment.objects.filter(id=order.current_payment_id).values_list("method", flat=True).first() or ""
    )
    if method == "cash":
        return PaidWith(Tender.CASH)
    return PaidWith(Tender.ONLINE, method=method)


def order_receipt(order: Order, language: str) -> ReceiptData:
    """The sale's receipt in `language`, or the refund's once the money went back (a refunded order)."""
    quote = Quote.from_dict(order.quote)
    refunded = order.status == "refunded"
    iccid = order.iccid or (order.line.iccid if order.line_id and order.line else "")
    return ReceiptData(
        kind=ReceiptKind.REFUND if refunded else ReceiptKind.SALE, language=language,
        seller=seller_for(order.channel), sale_id=order.id, terminal_ref=order.current_payment_id,
        at=order.updated_at if refunded else order.created_at,
        network_name=network_brand(order.network_id), plan_name=plan_title(order.plan_id, language),
        total=Money(order.total_minor, order.currency), net=quote.net, vat=quote.vat,
        vat_rate_bp=quote.vat_rate_bp, payment=paid_with(order),
        msisdn_masked=line_label(order.msisdn, iccid), order_id=order.id,
        promotions=quote.promotions,
        fx=quote.fx,
    )  # fmt: skip
