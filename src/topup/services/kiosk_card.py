"""Card at the kiosk: a normal order (channel `kiosk`, method `card_present`) whose PaymentIntent is handed
to the kiosk's card reader; the provider's signed webhook pays it like any other order, and the kiosk reads
the order to know when to print. A declined card leaves the order unpaid: the customer may try again (a new
order) or pay cash."""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum

from topup.db.models import Order, Payment, Terminal
from topup.domain.errors import NotFound
from topup.domain.money import Money, split_vat
from topup.domain.orders import OrderStatus
from topup.domain.receipts import Payment as PaidWith
from topup.domain.receipts import ReceiptData, ReceiptKind, Seller, Tender
from topup.pii import mask_msisdn
from topup.ports import PaymentStatus, PortUnavailable
from topup.services import kiosk_devices, orders, peers, plan_text
from topup.services.idempotency import make_key
from topup.services.kiosk_cash import Purchase
from topup.services.kiosk_sales import plan_label

METHOD = "card_present"
PAID = frozenset({OrderStatus.PAID.value, OrderStatus.DELIVERING.value, OrderStatus.DELIVERED.value})


class CardState(StrEnum):
    WAITING = "waiting"  # the reader waits for the card, or the webhook has not come yet
    PAID = "paid"
    DECLINED = "declined"


def reader_of(terminal_id: str) -> str:
    """The reader beside this kiosk (its own, else TOPUP_KIOSK_READER_ID)."""
    return kiosk_devices.of(terminal_id).reader_id


def start(terminal_id: str, purchase: Purchase, attempt: str) -> str:
    """Place the order and hand its payment to the reader; the order id. `attempt` makes the customer's
    button press idempotent (a double tap places one order)."""
    request = orders.QuoteRequest(
        plan_id=purchase.plan_id,
        msisdn=purchase.msisdn,
        network_confirmed=purchase.network_confirmed,
        channel="kiosk",
    )
    fields = {**asdict(request), "payment_method": METHOD}
    stored = orders.place_order(
        request, payment_method=METHOD, channel="kiosk", language=purchase.language,
        idem=make_key(f"kiosk:{terminal_id}", attempt, fields),
    )  # fmt: skip
    order_id = str(stored.body["id"])
    payment = Payment.objects.get(
        order_id=order_id, method=METHOD, status=PaymentStatus.REQUIRES_ACTION.value
    )
    reader = peers.current().card_reader
    if reader is None:
        raise PortUnavailable("no card reader configured", code="card_reader_unavailable")
    reader.process(reader_of(terminal_id), payment.provider_ref or "")
    return order_id


def state(order_id: str) -> CardState:
    order = Order.objects.filter(id=order_id, channel="kiosk").first()
    if order is None:
        raise NotFound("no such kiosk order", code="order_not_found", field="order_id")
    if order.status in PAID:
        return CardState.PAID
    payment = Payment.objects.filter(id=order.current_payment_id).first()
    if payment is not None and payment.status == PaymentStatus.FAILED.value:
        return CardState.DECLINED
    return CardState.WAITING


def cancel(terminal_id: str) -> None:
    """The customer gave up at the reader: it stops waiting (the unpaid order expires by itself)."""
    reader = peers.current().card_reader
    if reader is not None:
        reader.cancel(reader_of(terminal_id))


def receipt_data(terminal_id: str, order_id: str) -> ReceiptData:
    order = Order.objects.get(id=order_id, channel="kiosk")
    retailer = Terminal.objects.select_related("retailer").get(id=terminal_id).retailer
    total = Money(order.total_minor, order.currency)
    split = split_vat(total)
    return ReceiptData(
        kind=ReceiptKind.SALE, language=order.language,
        seller=Seller(retailer.name, tuple(retailer.address_lines), retailer.vat_number, terminal_id),
        sale_id=order.id, terminal_ref=order.current_payment_id, at=order.created_at,
        network_name=plan_text.network_brand(order.network_id),
        plan_name=plan_label(order.plan_id, order.language), total=total, net=split.net, vat=split.vat,
        vat_rate_bp=split.rate_bp, payment=PaidWith(Tender.CARD), msisdn_masked=mask_msisdn(order.msisdn),
        order_id=order.id,
    )  # fmt: skip
