"""Housekeeping the worker runs now and then: unpaid orders expire after a while."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from topup.clock import now
from topup.db.models import Order
from topup.domain.errors import IllegalTransition
from topup.domain.orders import OrderStatus
from topup.services.transitions import move
from topup.settings import CONFIG


def expire_unpaid_orders(limit: int = 500) -> int:
    """Move orders that waited for payment longer than TOPUP_PAYMENT_TTL_S to `expired`."""
    at = now()
    cutoff = at - timedelta(seconds=CONFIG.payment_ttl_s)
    ids = list(
        Order.objects.filter(status=OrderStatus.AWAITING_PAYMENT.value, created_at__lt=cutoff).values_list(
            "id", flat=True
        )[:limit]
    )
    expired = 0
    for order_id in ids:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(id=order_id)
            try:
                move(order, OrderStatus.EXPIRED, at=at, code="payment_timeout")
                expired += 1
            except IllegalTransition:
                continue
    return expired
