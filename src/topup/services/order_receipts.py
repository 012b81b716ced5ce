"""The receipt of an order paid online (the website, an app), as `domain.receipts.ReceiptData` for the
shared renderers (`services.receipts`): the PDF the order page offers to its holder.

Only an order that took money has a receipt: from `paid` on. A refunded order's receipt says so (the
renderers print it as a return receipt with the amount handed back).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlparse

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from topup.db.models import Order, Payment
from topup.domain.errors import NotFound
from topup.domain.money import Money
from topup.domain.quotes import Quote
from topup.domain.receipts import Payment as PaidWith
from topup.domain.receipts import ReceiptData, ReceiptKind, Tender
from topup.services import receipts
from topup.services.agent_receipts import line_on_receipt, operator_seller
from topup.services.order_access import Caller, owned_order
from topup.services.plan_text import network_brand, plan_title
from topup.settings import CONFIG

WITH_RECEIPT: Final = frozenset({"paid", "delivering", "delivered", "delivery_failed", "refunded"})
# How a payment method is named to customers: on receipts and on the checkout's choices.
METHOD_NAMES: Final[dict[str, Promise]] = {
    "card": _("Card (Visa, Mastercard)"),
    "bancontact": _("Bancontact"),
    "alipay": _("Alipay"),
    "wechat_pay": _("WeChat Pay"),
    "voucher": pgettext_lazy("receipt", "Top-up voucher"),
    "credit": pgettext_lazy("receipt", "Credit on the line"),
}


def has_receipt(status: str) -> bool:
    return status in WITH_RECEIPT


def order_receipt(order: Order, language: str) -> ReceiptData:
    """The receipt of `order` in `language`; `no_receipt` while nothing was paid."""
    if not has_receipt(order.status):
        raise NotFound("an order has a receipt once it is paid", code="no_receipt", field="order_id")
    quote = Quote.from_dict(order.quote)
    paid = _paying_attempt(order)
    refunded = order.status == "refunded"
    with translation.override(language):
        method = str(METHOD_NAMES[paid.method]) if paid and paid.method in METHOD_NAMES else ""
        plan_name = plan_title(order.plan_id, language)
    cash = paid is not None and paid.method == "cash"  # paid at a counter (services/counter_payments)
    paid_with = PaidWith(Tender.CASH) if cash else PaidWith(Tender.ONLINE, method_name=method)
    return ReceiptData(
        kind=ReceiptKind.REFUND if refunded else ReceiptKind.SALE, language=language,
        seller=operator_seller(_website()), sale_id=order.id,
        terminal_ref=paid.id if paid else order.id[-8:],
        at=order.updated_at if refunded else order.created_at,
        network_name=network_brand(order.network_id), plan_name=plan_name,
        total=Money(order.total_minor, order.currency), net=quote.net, vat=quote.vat,
        vat_rate_bp=quote.vat_rate_bp, payment=paid_with,
        msisdn_masked=line_on_receipt(order.msisdn, order.iccid or _line_iccid(order)), order_id=order.id,
        promotions=quote.promotions, fx=quote.fx, esim_only=not order.msisdn,
    )  # fmt: skip


def receipt_pdf(order_id: str, caller: Caller, language: str) -> bytes:
    """The PDF receipt for a caller who may see the order (services/order_access), else `order_not_found`."""
    return receipts.render_pdf(order_receipt(owned_order(order_id, caller), language))


def _website() -> str:
    """Where an online sale was made, in the receipt's "terminal" line: our website's host name."""
    return urlparse(CONFIG.public_url).hostname or CONFIG.public_url


def _paying_attempt(order: Order) -> Payment | None:
    """The attempt that paid: the order's current one once it is paid (services/payments)."""
    found = Payment.objects.filter(order_id=order.id, id=order.current_payment_id).first()
    return found or Payment.objects.filter(order_id=order.id).order_by("-attempt").first()


def _line_iccid(order: Order) -> str:
    """The eSIM topped up, when the order names its line rather than a new profile."""
    return order.line.iccid if order.line_id and order.line else ""
