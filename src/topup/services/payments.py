"""Payment confirmations: a verified webhook is stored in the inbox once and applied once.

`paid` writes the ledger capture and the delivery job in the same transaction as the status change.
A success whose amount or currency is not the payment's is never `paid`: the payment is flagged
`needs_review` for staff (`topup payments refund-review`), and nothing is captured. Signed events we
cannot use are acknowledged as `ignored`, so that the provider stops sending them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from topup.clock import new_id, now
from topup.db import ledger
from topup.db.models import InboxEvent, Job, Order, OrderEvent, Payment
from topup.domain import ledger as postings
from topup.domain.money import Money
from topup.domain.orders import OrderStatus
from topup.domain.quotes import Quote
from topup.ports import PaymentEvent, PaymentStatus, UnusableEvent
from topup.services import notifications, peers
from topup.services.transitions import move
from topup.settings import CONFIG

log = logging.getLogger(__name__)


def receive_webhook(provider_name: str, raw_body: bytes, headers: Mapping[str, str]) -> str:
    """Verify, store and apply one webhook; returns the outcome. Raises InvalidSignature (nothing stored)."""
    provider = peers.current().payment_provider(provider_name)
    try:
        event = provider.parse_webhook(raw_body, headers)
    except UnusableEvent as exc:
        log.warning("signed webhook ignored: %s", exc, extra={"provider": provider_name})
        return "ignored"
    at = now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                inbox = InboxEvent.objects.create(
                    provider=provider_name,
                    event_id=event.event_id,
                    type=event.type,
                    payload=dict(event.payload),
                    received_at=at,
                )
        except IntegrityError:
            return "duplicate"
        try:
            with transaction.atomic():
                outcome = apply_event(provider_name, event)
        except Exception:
            log.exception("webhook %s could not be applied now; queued for retry", event.event_id)
            enqueue("apply_webhook", str(inbox.pk), at=at)
            return "queued"
        InboxEvent.objects.filter(pk=inbox.pk).update(processed_at=at, outcome=outcome)
    log.info("webhook applied", extra={"event_id": event.event_id, "outcome": outcome})
    return outcome


def apply_stored_event(inbox_pk: int) -> str:
    """Apply an inbox event later (the job behind a webhook that failed to apply at once)."""
    with transaction.atomic():
        inbox = InboxEvent.objects.select_for_update().get(pk=inbox_pk)
        if inbox.processed_at is not None:
            return inbox.outcome
        provider = peers.current().payment_provider(inbox.provider)
        try:
            outcome = apply_event(inbox.provider, provider.event_from_payload(inbox.payload))
        except UnusableEvent as exc:
            log.warning("stored webhook %s ignored: %s", inbox.event_id, exc)
            outcome = "ignored"
        inbox.processed_at, inbox.outcome = now(), outcome
        inbox.save(update_fields=["processed_at", "outcome"])
        return outcome


def _find_payment(provider_name: str, event: PaymentEvent) -> Payment | None:
    query = Payment.objects.select_for_update()
    if event.payment_id:
        found = query.filter(id=event.payment_id, provider=provider_name).first()
        if found:
            return found
    return query.filter(provider=provider_name, provider_ref=event.provider_ref).first()


def apply_event(provider_name: str, event: PaymentEvent) -> str:
    payment = _find_payment(provider_name, event)
    if payment is None:
        log.warning("webhook %s ignored: no such payment", event.event_id, extra={"provider": provider_name})
        return "ignored"
    order = Order.objects.select_for_update().get(id=payment.order_id)
    at = now()
    if event.type == "payment.succeeded":
        if payment.status in {PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED}:
            return "already_succeeded"
        if payment.status == PaymentStatus.NEEDS_REVIEW:
            return "needs_review"
        if event.amount is None:
            return "ignored"
        if event.amount != Money(payment.amount_minor, payment.currency):
            return _needs_review(order, payment, event.amount, at)
        Payment.objects.filter(id=payment.id).update(status=PaymentStatus.SUCCEEDED.value, updated_at=at)
        capture = postings.payment_captured(order.id, provider_name, Quote.from_dict(order.quote))
        if order.status != OrderStatus.AWAITING_PAYMENT:
            # Paid too late (the order expired or was cancelled): the money goes straight back.
            enqueue("refund", order.id, at=at)
            outcome = "late_payment_refund"
        else:
            deadline = at + timedelta(seconds=CONFIG.delivery_deadline_s)
            move(order, OrderStatus.PAID, at=at, delivery_deadline=deadline)
            enqueue("deliver", order.id, at=at)
            outcome = "paid"
        # Shared ledger rows last: their locks are then held only until the commit.
        ledger.post(capture, now=at, order_id=order.id)
        return outcome
    if event.type == "payment.failed":
        if payment.status != PaymentStatus.REQUIRES_ACTION:
            return "ignored"
        code = event.failure_code or "payment_failed"
        Payment.objects.filter(id=payment.id).update(
            status=PaymentStatus.FAILED.value, failure_code=code, updated_at=at
        )
        notifications.payment_failed(payment.id, at)
        OrderEvent.objects.create(
            order_id=order.id,
            from_status=order.status,
            to_status=order.status,
            code=code,
            detail="payment failed",
            at=at,
        )
        return "failed"
    if event.type == "refund.succeeded":
        return "refund_confirmed"
    return "ignored"


def _needs_review(order: Order, payment: Payment, received: Money, at: datetime) -> str:
    """A success for another amount or currency: flag the payment for staff; the order is not paid."""
    code = "currency_mismatch" if received.currency != payment.currency else "amount_mismatch"
    Payment.objects.filter(id=payment.id).update(
        status=PaymentStatus.NEEDS_REVIEW.value, review_code=code, received_minor=received.amount_minor,
        received_currency=received.currency, updated_at=at,
    )  # fmt: skip
    expected = Money(payment.amount_minor, payment.currency)
    OrderEvent.objects.create(
        order_id=order.id, from_status=order.status, to_status=order.status, code="payment_needs_review",
        detail=f"{code}: provider reported {received}, payment is {expected}", at=at,
    )  # fmt: skip
    log.error(
        "payment %s needs review: %s (received %s, expected %s)", payment.id, code, received, expected,
        extra={"order_id": order.id, "payment_id": payment.id, "alert": "payment_needs_review"},
    )  # fmt: skip
    return "needs_review"


def refund_under_review(payment_id: str) -> str:
    """Give back what a `needs_review` payment really received (staff: `topup payments refund-review`):
    refunded, not_found, not_under_review or `refused: <provider code>`. The order stays unpaid."""
    payment = Payment.objects.filter(id=payment_id).first()
    if payment is None:
        return "not_found"
    if payment.status != PaymentStatus.NEEDS_REVIEW or payment.received_minor is None:
        return "not_under_review"
    if not payment.provider_ref:
        return "not_under_review"
    received = Money(payment.received_minor, payment.received_currency or payment.currency)
    provider = peers.current().payment_provider(payment.provider)
    result = provider.refund(payment.provider_ref, received, refund_id=f"rfd_review_{payment.id}")
    if not result.succeeded:
        return f"refused: {result.code}"
    at = now()
    with transaction.atomic():
        updated = Payment.objects.filter(id=payment.id, status=PaymentStatus.NEEDS_REVIEW.value).update(
            status=PaymentStatus.REFUNDED.value, refunded_minor=received.amount_minor, updated_at=at
        )
        if updated:
            order = Order.objects.get(id=payment.order_id)
            OrderEvent.objects.create(
                order_id=order.id, from_status=order.status, to_status=order.status,
                code="review_refunded", detail=f"{received} refunded ({result.refund_ref})", at=at,
            )  # fmt: skip
    return "refunded"


def enqueue(kind: str, subject_id: str, *, at: datetime, delay_s: float = 0.0) -> None:
    """Write a job in the caller's transaction; one job per (kind, subject) ever."""
    run_after = at + timedelta(seconds=delay_s)
    Job.objects.create(id=new_id("job"), kind=kind, subject_id=subject_id, run_after=run_after, created_at=at)
