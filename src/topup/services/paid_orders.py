"""An order paid on the spot: a voucher redeemed, a shop's sale from its float, cash at a counter.

The order is created with its history created → awaiting_payment → paid, its payment already succeeded,
the delivery job queued and the capture booked in the ledger, all in the caller's transaction. Only the
payment provider (and so the clearing account the money sits in) differs between the channels that use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from topup.clock import new_id
from topup.db import ledger
from topup.db.models import Order, OrderEvent, Payment
from topup.domain import ledger as postings
from topup.domain.orders import OrderStatus
from topup.metrics import record
from topup.ports import PaymentStatus
from topup.services import promotions
from topup.services.orders import Priced
from topup.services.payments import enqueue
from topup.services.transitions import move
from topup.settings import CONFIG


@dataclass(frozen=True, slots=True)
class PaidBy:
    """Who paid, as the payment row records it: provider (`voucher`, `retail`, `cash`…), method, reference."""

    provider: str
    method: str
    provider_ref: str
    code: str  # the `paid` event's code (`voucher`, `retail_sale`…) and its detail (a serial, a sale id)
    detail: str


def create_paid_order(
    priced: Priced, paid_by: PaidBy, *, channel: str, language: str, at: datetime, order_id: str = ""
) -> tuple[Order, Payment]:
    """Create the order (under `order_id` when the caller made it first, e.g. for its payment reference) and
    its succeeded payment, move it to `paid`, queue its delivery, book the capture. Call inside a transaction:
    the caller's own rows (a voucher, a sale) commit with it or not at all."""
    quote = priced.quote
    order_id = order_id or new_id("ord")
    # The promotions' uses first (a used-up code refuses the sale, and the caller's rows roll back).
    promotions.reserve(order_id, quote, promotions.keys_of(priced), at)
    order = Order.objects.create(
        id=order_id, plan_id=quote.plan_id, network_id=quote.network_id, msisdn=quote.msisdn,
        line_id=priced.line_id, channel=channel, language=language,
        status=OrderStatus.AWAITING_PAYMENT.value, total_minor=quote.total.amount_minor,
        currency=quote.currency, quote=quote.to_dict(), created_at=at, updated_at=at,
    )  # fmt: skip
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(order=order, from_status="", to_status=OrderStatus.CREATED.value, at=at),
            OrderEvent(
                order=order,
                from_status=OrderStatus.CREATED.value,
                to_status=OrderStatus.AWAITING_PAYMENT.value,
                at=at,
            ),
        ]
    )
    payment = Payment.objects.create(
        id=new_id("pay"), order=order, provider=paid_by.provider, method=paid_by.method,
        status=PaymentStatus.SUCCEEDED.value, provider_ref=paid_by.provider_ref,
        amount_minor=quote.total.amount_minor, currency=quote.currency, created_at=at, updated_at=at,
    )  # fmt: skip
    record.order_placed(order, paid_by.method)
    deadline = at + timedelta(seconds=CONFIG.delivery_deadline_s)
    move(
        order, OrderStatus.PAID, at=at, code=paid_by.code, detail=paid_by.detail, delivery_deadline=deadline,
        current_payment_id=payment.id,
    )  # fmt: skip
    enqueue("deliver", order.id, at=at)
    # Shared ledger rows last: their locks are then held only until the commit.
    ledger.post(postings.payment_captured(order.id, paid_by.provider, quote), now=at, order_id=order.id)
    return order, payment
