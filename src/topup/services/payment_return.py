"""The buyer is back from the provider's page: ask the provider how the order's open attempt stands.

The signed webhook stays the authority, but it may be late (a provider retries with backoff) or lost; a
buyer who approved the payment should then not watch "waiting for payment" for minutes. A success read
here goes through the same `record_success` as the webhook's, under the same row locks, so whichever
comes first pays the order and the other finds it paid.
"""

from __future__ import annotations

import logging

from django.db import transaction

from topup.clock import now
from topup.db.models import Order, Payment
from topup.domain.orders import OrderStatus
from topup.ports import PaymentStatus, PortUnavailable, ProviderRequestError
from topup.services import payments, peers

log = logging.getLogger(__name__)
_OPEN = (PaymentStatus.REQUIRES_ACTION.value, PaymentStatus.PROCESSING.value)


def check_on_return(order_id: str) -> str:
    """Record the success of the order's current attempt if the provider has it; returns what was done.
    The caller has already shown that it may see the order."""
    order = Order.objects.filter(id=order_id, status=OrderStatus.AWAITING_PAYMENT.value).first()
    if order is None or not order.current_payment_id:
        return "not_waiting"
    payment = Payment.objects.filter(id=order.current_payment_id, status__in=_OPEN).first()
    if payment is None or not payment.provider_ref:
        return "not_open"
    provider = peers.current().payment_provider(payment.provider)
    try:
        result = provider.get_payment(payment.provider_ref)
    except (PortUnavailable, ProviderRequestError) as exc:
        log.info(
            "payment %s: provider not asked on return: %s", payment.id, exc, extra={"order_id": order_id}
        )
        return "provider_unavailable"
    if result.status is not PaymentStatus.SUCCEEDED:
        return str(result.status)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(id=payment.id)
        payments.adopt_payment_ref(locked, result.payment_ref)
        locked_order = Order.objects.select_for_update().get(id=locked.order_id)
        outcome = payments.record_success(locked_order, locked, now())
    log.info(
        "payment %s succeeded, read on the buyer's return: %s",
        payment.id,
        outcome,
        extra={"order_id": order_id},
    )
    return outcome
