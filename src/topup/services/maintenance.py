"""Housekeeping the worker runs now and then: unpaid orders expire, and so do bundles past their validity."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from topup.clock import now
from topup.db.models import BundleRecord, LineEvent, Order
from topup.domain.bundles import BundleStatus, expire
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


def expire_bundles(limit: int = 1000) -> int:
    """Close active bundles whose validity ended; what they still held is recorded, never silently lost."""
    at = now()
    with transaction.atomic():
        due = BundleRecord.objects.select_for_update().filter(
            status=BundleStatus.ACTIVE.value, expires_at__lte=at
        )[:limit]
        records = expire([row.to_domain() for row in due], at)
        for record in records:
            BundleRecord.objects.filter(id=record.bundle_id, status=BundleStatus.ACTIVE.value).update(
                status=BundleStatus.EXPIRED.value, expired_remaining_kb=record.remaining_kb
            )
        LineEvent.objects.bulk_create(
            LineEvent(
                line_id=r.bundle.line_id, kind="bundle_expired", state="expired", code=r.bundle_id,
                detail=f"{r.remaining_kb} kB left at expiry", at=r.expired_at,
            )
            for r in records
        )  # fmt: skip
    return len(records)
