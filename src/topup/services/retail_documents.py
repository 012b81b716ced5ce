"""What the POS API answers about a sale: one document, the same for the first answer and its replays.

The PIN of a PIN sale is kept sealed on the sale for reprints within the void window (then erased by the
maintenance sweep) and never stored in the answer itself: it is added when the document is shown.
"""

from __future__ import annotations

from topup.db.models import Order, Sale
from topup.domain.money import Money
from topup.domain.retail import PIN_VOID_WINDOW
from topup.pii import mask_msisdn


def money(amount_minor: int | None, currency: str) -> dict[str, object] | None:
    if amount_minor is None:
        return None
    return {"amount_minor": amount_minor, "currency": currency, "text": str(Money(amount_minor, currency))}


def sale_document(sale: Sale, order: Order | None = None) -> dict[str, object]:
    """The sale as the terminal sees it now (status, order status, the PIN while it may be reprinted)."""
    order = order if order is not None or sale.order_id is None else Order.objects.get(id=sale.order_id)
    document: dict[str, object] = {
        "id": sale.id,
        "terminal_ref": sale.terminal_ref,
        "terminal_id": sale.terminal_id,
        "kind": sale.kind,
        "status": sale.status,
        "plan_id": sale.plan_id,
        "price": money(sale.price_minor, sale.currency),
        "commission": money(sale.commission_minor, sale.currency),
        "tender": sale.tender,
        "cash_given": money(sale.cash_given_minor, sale.currency),
        "change": money(sale.change_minor, sale.currency),
        "language": sale.language,
        "sold_at": sale.sold_at.isoformat(),
        "shift_id": sale.shift_id,
        "order": None,
        "pin": None,
        "promotions": promotions_of(order.quote if order is not None else None),
    }
    if order is not None:
        document["order"] = {
            "id": order.id, "status": order.status, "network": order.network_id,
            "msisdn_masked": mask_msisdn(order.msisdn),
        }  # fmt: skip
    if sale.voucher_id is not None:
        document["pin"] = {"serial": sale.voucher_id, "pin": shown_pin(sale)}
    return document


def promotions_of(quote: object) -> list[dict[str, object]]:
    """The promotions a (frozen) quote applied: campaign, rule, names, code, saving and bonus each."""
    found = quote.get("promotions") if isinstance(quote, dict) else None
    return [dict(item) for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def shown_pin(sale: Sale) -> str | None:
    """The PIN for the answer and the receipt while the sale may be voided; None after (it was erased)."""
    return sale.pin or None


def pin_erase_before(at_now: object) -> object:
    """Sales sold before this moment no longer keep their PIN (the void window is over)."""
    return at_now - PIN_VOID_WINDOW  # type: ignore[operator]
