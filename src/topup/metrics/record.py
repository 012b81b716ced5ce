"""Counting as things happen: one call at the place where an order moves, a webhook is applied, a PIN or a
one-time code is refused (calls to peers: `metrics.peers`). Nothing here reads a table to count; the few
lookups are by key (an order's payment method, its paid time), once per moved order or batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from django.db import transaction
from django.db.models import F

from topup.db.models import Order, OrderEvent, Payment, RateCounter
from topup.domain.orders import OrderStatus
from topup.metrics import series

NO_METHOD: Final = "none"  # an order with no payment (a voucher, a free order)
LABEL_FIELDS: Final = ("channel", "network_id", "current_payment_id")  # what a moved order must have loaded
_METHODS_MAX: Final = 20_000  # order id -> payment method, remembered by the process that saw it
_methods: dict[str, str] = {}

# Things that need a person, kept as counters in `rate_counter` (never purged: "total:" keys), moved in the
# transaction that flags or clears them, so that /metrics reads two rows instead of counting payments.
OPEN_NEEDS_REVIEW: Final = "total:open:payments_needs_review"
OPEN_PAYOUTS: Final = "total:open:payouts_needed"


def order_placed(order: Order, method: str) -> None:
    """An order was created (status awaiting_payment) in the caller's transaction: counted when it commits."""
    _remember(order.id, method or NO_METHOD)
    labels = (order.channel, order.network_id, method or NO_METHOD, "placed")
    transaction.on_commit(lambda: series.ORDERS.labels(*labels).inc())


def orders_moved(orders: Sequence[Order], new: OrderStatus, at: datetime) -> None:
    """Orders entered `new` in the caller's transaction: counted when it commits (never for a rollback)."""
    if not orders:
        return
    labels = _labels_of(orders)
    methods = _methods_of(labels)
    paid = _paid_at(list(labels)) if new == OrderStatus.DELIVERED else {}

    def count() -> None:
        for order_id, (channel, network, _payment) in labels.items():
            series.ORDERS.labels(channel, network, methods[order_id], new.value).inc()
            if order_id in paid:
                waited_s = max(0.0, (at - paid[order_id]).total_seconds())
                series.PAID_TO_DELIVERED_SECONDS.labels(channel, network).observe(waited_s)
            if new in {OrderStatus.DELIVERED, OrderStatus.REFUNDED}:
                _methods.pop(order_id, None)  # final for the figures: forget it

    transaction.on_commit(count)


def _labels_of(orders: Sequence[Order]) -> dict[str, tuple[str, str, str]]:
    """Order id -> (channel, network, current payment); one query for them all when a caller loaded the
    orders with `.only()` (never one per order, as reading a deferred field would)."""
    if not any(set(LABEL_FIELDS) & o.get_deferred_fields() for o in orders):
        return {o.id: (o.channel, o.network_id, o.current_payment_id) for o in orders}
    rows = Order.objects.filter(id__in=[o.id for o in orders]).values_list("id", *LABEL_FIELDS)
    return {order_id: (channel, network, payment) for order_id, channel, network, payment in rows}


def _remember(order_id: str, method: str) -> None:
    if len(_methods) >= _METHODS_MAX:
        _methods.clear()
    _methods[order_id] = method


def _methods_of(labels: Mapping[str, tuple[str, str, str]]) -> dict[str, str]:
    missing = {
        payment: order_id
        for order_id, (_, _, payment) in labels.items()
        if order_id not in _methods and payment
    }
    if missing:
        for payment_id, method in Payment.objects.filter(id__in=missing).values_list("id", "method"):
            _remember(missing[payment_id], method)
    return {order_id: _methods.get(order_id, NO_METHOD) for order_id in labels}


def _paid_at(order_ids: list[str]) -> dict[str, datetime]:
    rows = OrderEvent.objects.filter(order_id__in=order_ids, to_status=OrderStatus.PAID.value)
    return dict(rows.values_list("order_id", "at"))


def webhook_applied(provider: str, payload: Mapping[str, object] | None, at: datetime) -> None:
    """A signed event was applied at `at`: its lag from the provider's `created` (Unix seconds), if any."""
    created = (payload or {}).get("created")
    if isinstance(created, int | float) and not isinstance(created, bool):
        lag_s = (at - datetime.fromtimestamp(created, UTC)).total_seconds()
        series.WEBHOOK_LAG_SECONDS.labels(provider).observe(max(0.0, lag_s))


def voucher_failed(channel: str, code: str) -> None:
    series.VOUCHER_PIN_FAILURES.labels(channel, code).inc()


def otp_failed(code: str) -> None:
    series.OTP_FAILURES.labels(code).inc()


def open_item(key: str, change: int, at: datetime) -> None:
    """One more (+1) or one fewer (-1) payment needing a person, in the caller's transaction."""
    RateCounter.objects.bulk_create([RateCounter(key=key, window_start=at, count=0)], ignore_conflicts=True)
    rows = RateCounter.objects.filter(key=key)
    if change < 0:
        rows = rows.filter(count__gte=-change)  # never below zero, whatever was flagged before counting began
    rows.update(count=F("count") + change)


def open_items(key: str) -> int:
    return int(RateCounter.objects.filter(key=key).values_list("count", flat=True).first() or 0)
