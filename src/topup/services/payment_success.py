"""A payment that took the money: the first success while its order waits pays the order (delivery job and
ledger capture in the same transaction); any other is a stray, captured under its own ids and refunded.

The webhook's usual case goes through `pay_from_event`: two guarded `UPDATE … RETURNING` statements (the
payment, then its order), no SELECT before them and no savepoint. When the payment's guard does not hold
(already paid, another amount, a payment we do not know, a reference another payment holds) it answers
None and the caller's general path, which reads and locks the rows, decides.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from topup import logcontext, order_trail
from topup.db import ledger
from topup.db.hot_sql import order_paid, reference_free, update_returning
from topup.db.models import Order, OrderEvent, Payment
from topup.domain import ledger as postings
from topup.domain.money import Money
from topup.domain.orders import OrderStatus
from topup.domain.quotes import Quote
from topup.ports import PaymentEvent, PaymentStatus
from topup.services import jobs
from topup.services.transitions import move, moved
from topup.settings import CONFIG

log = logging.getLogger(__name__)

OPEN_STATUSES = (PaymentStatus.REQUIRES_ACTION.value, PaymentStatus.PROCESSING.value)
# A superseded attempt (failed when a retry replaced it) may still succeed: it is then a stray, refunded, as
# the order shows and charges the current attempt's yuan quote (even while it still waits for payment).
_MAY_SUCCEED = (*OPEN_STATUSES, PaymentStatus.FAILED.value)


def pay_from_event(
    provider_name: str, event: PaymentEvent, at: datetime, *, checkout_prefix: str = ""
) -> tuple[Payment, str] | None:
    """Mark the event's payment succeeded when it may (open, same amount and currency, named by the event:
    `payments._names_payment`'s rule), under the event's reference (`adopt_payment_ref`'s rule), and settle
    its order; None when the guard did not hold, with nothing written."""
    if event.amount is None:
        return None
    target = Payment.objects.filter(
        provider=provider_name, status__in=_MAY_SUCCEED,
        amount_minor=event.amount.amount_minor, currency=event.amount.currency,
    )  # fmt: skip
    if event.payment_id:
        # Found by its metadata: only if stored under a reference the event names, or none known yet.
        named = Q(provider_ref__isnull=True) | Q(provider_ref="")
        named |= Q(provider_ref__in=[ref for ref in (event.checkout_ref, event.provider_ref) if ref])
        if checkout_prefix and not event.checkout_ref:  # its checkout's PaymentIntent, not adopted yet
            named |= Q(provider_ref__startswith=checkout_prefix)
        target = target.filter(named, id=event.payment_id)
    else:
        target = target.filter(provider_ref=event.provider_ref)
    values: dict[str, object] = {
        "status": PaymentStatus.SUCCEEDED.value,
        "failure_code": "",  # a checkout declined once, then paid: no failure shows on the paid attempt
        "updated_at": at,
    }
    if event.provider_ref:
        # A hosted checkout's payment takes the reference it was paid under (its PaymentIntent) in the same
        # statement, unless another payment holds it: the general path then ignores the event.
        target = target.filter(reference_free(provider_name, event.provider_ref))
        values["provider_ref"] = event.provider_ref
    succeeded = update_returning(target, **values)
    if not succeeded:
        return None
    payment = succeeded[0]
    logcontext.bind(order_id=payment.order_id, payment_id=payment.id)
    deadline = at + timedelta(seconds=CONFIG.delivery_deadline_s)
    paid = order_paid(payment.order_id, payment.id, at, deadline)
    if paid is not None:
        order_trail.follow(paid)  # its placing request's id and span, read with the move (RETURNING *)
        moved(paid, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, at=at)
        return payment, _paid(paid, payment, at)
    return payment, _stray(Order.objects.select_for_update().get(id=payment.order_id), payment, at)


def record_success(order: Order, payment: Payment, at: datetime) -> str:
    """A payment attempt took the money (rows locked by the caller). The order's current attempt, succeeding
    while the order waits, pays it; any other (the order was paid by another attempt, or has ended, or a
    retry replaced this attempt: the order's quote holds the new attempt's yuan figures) is a stray:
    captured under its own transfer ids and refunded, never delivered."""
    if not Payment.objects.filter(id=payment.id, status__in=_MAY_SUCCEED).update(
        status=PaymentStatus.SUCCEEDED.value,
        failure_code="",
        updated_at=at,  # an earlier decline is over
    ):
        return "already_succeeded"
    if order.status == OrderStatus.AWAITING_PAYMENT and order.current_payment_id in {"", payment.id}:
        deadline = at + timedelta(seconds=CONFIG.delivery_deadline_s)
        move(order, OrderStatus.PAID, at=at, delivery_deadline=deadline, current_payment_id=payment.id)
        return _paid(order, payment, at)
    return _stray(order, payment, at)


def _paid(order: Order, payment: Payment, at: datetime) -> str:
    enqueue("deliver", order.id, at=at)
    # Shared ledger rows last: their locks are then held only until the commit.
    ledger.post(
        postings.payment_captured(order.id, payment.provider, Quote.from_dict(order.quote)),
        now=at, order_id=order.id,
    )  # fmt: skip
    return "paid"


def _stray(order: Order, payment: Payment, at: datetime) -> str:
    """Paid too late (the order ended, or another attempt paid it): the money goes straight back."""
    OrderEvent.objects.create(
        order_id=order.id, from_status=order.status, to_status=order.status, code="stray_payment",
        detail=f"payment {payment.id} (attempt {payment.attempt}) succeeded late: refunded", at=at,
    )  # fmt: skip
    enqueue("refund_payment", payment.id, at=at)
    log.warning(
        "payment %s succeeded for order %s in status %s: refunding it", payment.id, order.id, order.status,
        extra={"order_id": order.id, "payment_id": payment.id},
    )  # fmt: skip
    ledger.post(
        postings.stray_payment_captured(
            order.id, payment.id, payment.provider, Money(payment.amount_minor, payment.currency)
        ),
        now=at, order_id=order.id,
    )  # fmt: skip
    return "late_payment_refund"


def enqueue(kind: str, subject_id: str, *, at: datetime, delay_s: float = 0.0) -> None:
    """Write a job in the caller's transaction; one job per (kind, subject) ever (a second raises
    IntegrityError). Its request id and span are the current ones, or its order's when a batch's settling
    said whose it is (`jobscope.queued_for`, applied by jobs.add)."""
    jobs.add_one(kind, subject_id, at=at, run_after=at + timedelta(seconds=delay_s))
