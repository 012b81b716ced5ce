"""The receipt of an agent's cash sale at the counter (or of its refund), as `domain.receipts.ReceiptData`
for the shared renderers (`services.receipts`): text on the order page, PDF to print."""

from __future__ import annotations

from topup.db.models import AgentRequest, AgentSale
from topup.domain.errors import NotFound
from topup.domain.money import Money
from topup.domain.quotes import Quote
from topup.domain.receipts import Payment, ReceiptData, ReceiptKind, Seller, Tender
from topup.pii import mask_msisdn
from topup.services import plan_text
from topup.settings import CONFIG


def operator_seller(counter: str) -> Seller:
    name, *rest = CONFIG.shop_seller or ("Topup",)
    address, vat = (tuple(rest[:-1]), rest[-1]) if rest else ((), "")
    return Seller(name=name, address_lines=address, vat_number=vat, terminal_id=counter)


def line_on_receipt(msisdn: str, iccid: str) -> str:
    """The line as the receipt names it: `+32 470 ** ** 56` (a printer's code page may have no bullet),
    or a new eSIM by the end of its ICCID."""
    if msisdn:
        return mask_msisdn(msisdn).replace("•", "*")
    return f"eSIM ICCID ****{iccid[-4:]}" if iccid else "eSIM"


def counter_receipt(order_id: str) -> ReceiptData:
    """The sale's receipt, or the return receipt once the cash went back (a refunded order)."""
    sale = AgentSale.objects.select_related("order").filter(order_id=order_id, method="cash").first()
    if sale is None:
        raise NotFound(
            "only a cash sale at a counter has a counter receipt", code="no_receipt", field="order_id"
        )
    order = sale.order
    quote = Quote.from_dict(order.quote)
    refunded = order.status == "refunded"
    reason = ""
    if refunded:
        asked = AgentRequest.objects.filter(order_id=order_id, kind="refund", status="executed").first()
        reason = asked.reason if asked else ""
    plan_name = plan_text.plan_title(order.plan_id, order.language)
    total = Money(order.total_minor, order.currency)
    return ReceiptData(
        kind=ReceiptKind.REFUND if refunded else ReceiptKind.SALE, language=order.language,
        seller=operator_seller(sale.counter), sale_id=order.id, terminal_ref=order.id[-8:],
        at=order.updated_at if refunded else order.created_at,
        network_name=plan_text.network_brand(order.network_id), plan_name=plan_name, total=total,
        net=quote.net, vat=quote.vat, vat_rate_bp=quote.vat_rate_bp, payment=Payment(Tender.CASH),
        msisdn_masked=line_on_receipt(order.msisdn, order.iccid), order_id=order.id, reason=reason,
    )  # fmt: skip
