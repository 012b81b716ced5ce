"""Moving an order through its state machine: a guarded UPDATE and a history row in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from topup.db.models import Order, OrderEvent
from topup.domain.errors import IllegalTransition
from topup.domain.orders import OrderStatus, check_transition
from topup.metrics import record
from topup.services import notifications, order_push, partner_hooks, promotions


def move(
    order: Order, new: OrderStatus, *, at: datetime, code: str = "", detail: str = "", **fields: object
) -> None:
    """Move `order` from its loaded status to `new`; IllegalTransition when a concurrent writer moved it."""
    current = OrderStatus(order.status)
    check_transition(current, new)
    updated = Order.objects.filter(id=order.id, status=current.value).update(
        status=new.value, updated_at=at, **fields
    )
    if updated != 1:
        raise IllegalTransition(f"order {order.id} is no longer {current.value}", code="concurrent_update")
    order.status = new.value
    order.updated_at = at
    for name, value in fields.items():
        setattr(order, name, value)
    moved(order, current, new, at=at, code=code, detail=detail)


def moved(
    order: Order, current: OrderStatus, new: OrderStatus, *, at: datetime, code: str = "", detail: str = ""
) -> None:
    """What follows a move the caller's guarded UPDATE made (`order` as it is now): the history row, and the
    notifications' and promotions' part, all in the caller's transaction."""
    check_transition(current, new)
    OrderEvent.objects.create(
        order_id=order.id,
        from_status=current.value,
        to_status=new.value,
        code=code,
        detail=detail[:255],
        at=at,
    )
    notifications.order_changed(order, new.value, at)  # receipts, refunds: outbox jobs in this transaction
    promotions.on_transition(order, new, at)  # its redemptions confirmed, released or rolled back
    partner_hooks.order_changed(order, new.value, at)  # the partner's status callback: an outbox job
    order_push.changed(order.id)  # waiting pages and streams hear it at commit
    record.orders_moved([order], new, at)  # /metrics: counted at commit


def moved_many(
    orders: Sequence[Order],
    current: OrderStatus,
    new: OrderStatus,
    *,
    at: datetime,
    codes: Mapping[str, str] | None = None,
) -> None:
    """`moved` for orders the caller's one guarded UPDATE moved together (the worker's claims and batches):
    their history in one INSERT, the notifications' and partners' jobs in one each, one NOTIFY."""
    check_transition(current, new)
    codes = codes or {}
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=o.id, from_status=current.value, to_status=new.value, code=codes.get(o.id, ""), at=at
        )
        for o in orders
    )
    notifications.orders_changed(list(orders), new.value, at)
    for order in orders:
        promotions.on_transition(order, new, at)
    partner_hooks.orders_changed(orders, new.value, at)
    order_push.changed_many([order.id for order in orders])
    record.orders_moved(orders, new, at)
