"""Payment confirmations: a verified webhook is stored in the inbox once and applied once.

`paid` writes the ledger capture and the delivery job in the same transaction as the status change.
A success whose amount or currency is not the payment's is never `paid`: the payment is flagged
`needs_review` for staff (`topup payments refund-review`), and nothing is captured. An event is about the
payment its reference names when we know that reference: one naming a payment by its metadata but another
payment's reference (or refund) changes nothing (`_names_payment`). Signed events we cannot use are
acknowledged as `ignored`, so that the provider stops sending them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from django.db import transaction

from topup import logcontext
from topup.clock import now
from topup.db import hot_sql, wakeup
from topup.db.models import InboxEvent, Order, OrderEvent, Payment
from topup.domain.money import Money
from topup.metrics import record
from topup.ports import (
    HostedCheckoutProvider,
    NextActionKind,
    PaymentEvent,
    PaymentProvider,
    PaymentResult,
    PaymentStatus,
    UnusableEvent,
)
from topup.services import notifications, peers, promotions, refunds
from topup.services.payment_success import OPEN_STATUSES, pay_from_event

# Re-exported: the other services write their jobs and record successes through this module.
from topup.services.payment_success import enqueue as enqueue  # noqa: PLC0414
from topup.services.payment_success import record_success as record_success  # noqa: PLC0414

log = logging.getLogger(__name__)


def receive_webhook(provider_name: str, raw_body: bytes, headers: Mapping[str, str]) -> str:
    """Verify, store and apply one webhook; returns the outcome. Raises InvalidSignature (nothing stored).

    One transaction, no savepoint: the inbox row is inserted unless its twin is there (a duplicate ends
    here), then applied. An event that cannot be applied now rolls it all back and is stored again,
    with the job that applies it later ("queued")."""
    provider = peers.current().payment_provider(provider_name)
    try:
        event = provider.parse_webhook(raw_body, headers)
    except UnusableEvent as exc:
        log.warning("signed webhook ignored: %s", exc, extra={"provider": provider_name})
        return "ignored"
    at = now()
    try:
        with transaction.atomic():
            inbox = _inbox_row(provider_name, event, at)
            if not hot_sql.insert_new(inbox):
                return "duplicate"
            with wakeup.together():  # the order's and the job's wake-ups in one statement
                outcome = apply_event(provider_name, event, checkout_prefix=checkout_prefix(provider))
            hot_sql.inbox_processed(inbox.pk, at, outcome)
    except Exception:
        log.exception("webhook %s could not be applied now; queued for retry", event.event_id)
        return _queue(provider_name, event, at)
    record.webhook_applied(provider_name, event.payload, at)
    log.info("webhook applied", extra={"event_id": event.event_id, "outcome": outcome})
    return outcome


def _inbox_row(provider_name: str, event: PaymentEvent, at: datetime) -> InboxEvent:
    return InboxEvent(
        provider=provider_name, event_id=event.event_id, type=event.type, payload=dict(event.payload),
        received_at=at,
    )  # fmt: skip


def _queue(provider_name: str, event: PaymentEvent, at: datetime) -> str:
    """Keep an event that failed to apply, for its job (unless a twin stored it meanwhile: it is theirs)."""
    with transaction.atomic():
        inbox = _inbox_row(provider_name, event, at)
        if not hot_sql.insert_new(inbox):
            return "duplicate"
        enqueue("apply_webhook", str(inbox.pk), at=at)
    return "queued"


def apply_stored_event(inbox_pk: int) -> str:
    """Apply an inbox event later (the job behind a webhook that failed to apply at once)."""
    with transaction.atomic():
        inbox = InboxEvent.objects.select_for_update().get(pk=inbox_pk)
        if inbox.processed_at is not None:
            return inbox.outcome
        provider = peers.current().payment_provider(inbox.provider)
        try:
            event = provider.event_from_payload(inbox.payload)
            outcome = apply_event(inbox.provider, event, checkout_prefix=checkout_prefix(provider))
        except UnusableEvent as exc:
            log.warning("stored webhook %s ignored: %s", inbox.event_id, exc)
            outcome = "ignored"
        inbox.processed_at, inbox.outcome = now(), outcome
        inbox.save(update_fields=["processed_at", "outcome"])
        record.webhook_applied(inbox.provider, inbox.payload, inbox.processed_at)
        return outcome


def checkout_prefix(provider: PaymentProvider) -> str:
    """How the references of the provider's hosted checkouts begin ("" when it has none)."""
    return provider.checkout_ref_prefix if isinstance(provider, HostedCheckoutProvider) else ""


def _find_payment(provider_name: str, event: PaymentEvent) -> Payment | None:
    query = Payment.objects.select_for_update()
    if event.payment_id:
        found = query.filter(id=event.payment_id, provider=provider_name).first()
        if found:
            return found
    return query.filter(provider=provider_name, provider_ref=event.provider_ref).first()


def _names_payment(payment: Payment, event: PaymentEvent, checkout_prefix: str) -> bool:
    """Whether the event is about this payment, found by the metadata it echoes. The provider's reference
    decides when we know it: the event must name the payment's stored reference (its PaymentIntent, or the
    checkout it is stored under). Only a payment whose reference we do not know yet (none stored, or only
    its hosted checkout's, which its PaymentIntent's events do not name) is taken at the metadata's word,
    and not when another payment holds the event's reference. A refund event must also name the refund we
    know, if any: another payment's refund never moves this one."""
    if event.refund_ref and payment.refund_ref and event.refund_ref != payment.refund_ref:
        return False
    held = Payment.objects.filter(provider=payment.provider, provider_ref=event.provider_ref).exclude(
        id=payment.id
    )
    if event.provider_ref and held.exists():  # its PaymentIntent is another payment's, whatever else it names
        return False
    known = payment.provider_ref or ""
    if known and known in {event.provider_ref, event.checkout_ref}:
        return True
    stored_under_checkout = bool(checkout_prefix) and known.startswith(checkout_prefix)
    return not known or (stored_under_checkout and not event.checkout_ref)


def apply_event(provider_name: str, event: PaymentEvent, *, checkout_prefix: str = "") -> str:
    """Apply one verified event to its payment (row locks: the payment, then its order). `checkout_prefix`:
    the provider's (`checkout_prefix`), without which only events naming a payment's stored reference (or a
    payment with none) apply."""
    if event.type == "payment.succeeded":
        # it adopts the event's reference too
        paid = pay_from_event(provider_name, event, now(), checkout_prefix=checkout_prefix)
        if paid is not None:
            return paid[1]
    payment = _find_payment(provider_name, event)
    if payment is not None:
        logcontext.bind(order_id=payment.order_id, payment_id=payment.id)
    if payment is None:
        log.warning("webhook %s ignored: no such payment", event.event_id, extra={"provider": provider_name})
        return "ignored"
    if not _names_payment(payment, event, checkout_prefix):
        log.error(
            "webhook %s ignored: it names payment %s by its metadata but %s %s, not the payment's %s %s",
            event.event_id, payment.id, event.provider_ref, event.refund_ref or "", payment.provider_ref,
            payment.refund_ref, extra={"payment_id": payment.id, "alert": "webhook_reference_mismatch"},
        )  # fmt: skip
        return "ignored"
    order = Order.objects.select_for_update().get(id=payment.order_id)
    at = now()
    if event.type == "payment.succeeded":
        return _succeeded(order, payment, event, at)
    if event.type in {"payment.failed", "payment.canceled"}:
        return _failed(order, payment, event, at)
    if event.type == "payment.processing":
        updated = Payment.objects.filter(id=payment.id, status=PaymentStatus.REQUIRES_ACTION.value).update(
            status=PaymentStatus.PROCESSING.value, updated_at=at
        )
        return "processing" if updated else "ignored"
    if event.type in REFUND_EVENTS:
        return refunds.on_event(order, payment, event, at)
    if event.type == "payment.requires_action":
        return "requires_action"  # nothing changes: the order page already shows the next action
    return "ignored"


def _succeeded(order: Order, payment: Payment, event: PaymentEvent, at: datetime) -> str:
    if payment.status in {PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED}:
        return "already_succeeded"
    if payment.status == PaymentStatus.NEEDS_REVIEW:
        return "needs_review"
    if event.amount is None:
        return "ignored"
    if event.amount != Money(payment.amount_minor, payment.currency):
        return _needs_review(order, payment, event.amount, at)
    adopt_payment_ref(payment, event.provider_ref)
    return record_success(order, payment, at)


def adopt_payment_ref(payment: Payment, provider_ref: str | None) -> None:
    """A payment collected by a hosted checkout (a Stripe Checkout Session) is stored under the checkout's
    reference until it is paid; the success names the payment's own (its PaymentIntent), which refunds,
    cancels and reconciliation need. Taken once, unless another payment already holds it (the unique
    (provider, provider_ref) pair), which is logged and left for staff."""
    if not provider_ref or provider_ref == payment.provider_ref:
        return
    taken = Payment.objects.filter(provider=payment.provider, provider_ref=provider_ref).exclude(
        id=payment.id
    )
    if taken.exists():
        log.error(
            "payment %s paid as %s, a reference another payment holds: kept %s", payment.id, provider_ref,
            payment.provider_ref, extra={"order_id": payment.order_id, "payment_id": payment.id},
        )  # fmt: skip
        return
    Payment.objects.filter(id=payment.id).update(provider_ref=provider_ref)
    log.info(
        "payment %s: checkout %s paid as %s", payment.id, payment.provider_ref, provider_ref,
        extra={"order_id": payment.order_id, "payment_id": payment.id},
    )  # fmt: skip
    payment.provider_ref = provider_ref


REFUND_EVENTS = frozenset({"refund.pending", "refund.succeeded", "refund.failed"})


def _failed(order: Order, payment: Payment, event: PaymentEvent, at: datetime) -> str:
    """Declined or cancelled at the provider: the order keeps waiting (a new attempt, or its expiry)."""
    canceled = event.type == "payment.canceled"
    code = event.failure_code or ("payment_canceled" if canceled else "payment_failed")
    if not Payment.objects.filter(id=payment.id, status__in=OPEN_STATUSES).update(
        status=PaymentStatus.FAILED.value, failure_code=code, updated_at=at
    ):
        return "ignored"
    if order.current_payment_id not in {"", payment.id}:
        return "failed"  # an attempt already replaced: the buyer has moved on
    notifications.payment_failed(payment.id, at)
    promotions.release(order.id, at)  # its code's use is free again; a new attempt takes it back
    OrderEvent.objects.create(
        order_id=order.id,
        from_status=order.status,
        to_status=order.status,
        code=code,
        detail="payment cancelled" if canceled else "payment failed",
        at=at,
    )
    return "failed"


def next_action_fields(result: PaymentResult) -> dict[str, str]:
    """What the order page needs of the provider's next action, as Payment columns."""
    action = result.next_action
    if action is None:
        url = result.checkout_url or ""
        return {"next_action_kind": NextActionKind.REDIRECT.value if url else "", "next_action_url": url,
                "qr_data": "", "instructions_url": ""}  # fmt: skip
    return {
        "next_action_kind": action.kind.value,
        "next_action_url": action.url or "",
        "qr_data": action.qr_data or "",
        "instructions_url": action.instructions_url or "",
    }


def _needs_review(order: Order, payment: Payment, received: Money, at: datetime) -> str:
    """A success for another amount or currency: flag the payment for staff; the order is not paid."""
    code = "currency_mismatch" if received.currency != payment.currency else "amount_mismatch"
    Payment.objects.filter(id=payment.id).update(
        status=PaymentStatus.NEEDS_REVIEW.value, review_code=code, received_minor=received.amount_minor,
        received_currency=received.currency, updated_at=at,
    )  # fmt: skip
    record.open_item(record.OPEN_NEEDS_REVIEW, +1, at)  # /metrics: topup_payments_needs_review
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
            record.open_item(record.OPEN_NEEDS_REVIEW, -1, at)
            order = Order.objects.get(id=payment.order_id)
            OrderEvent.objects.create(
                order_id=order.id, from_status=order.status, to_status=order.status,
                code="review_refunded", detail=f"{received} refunded ({result.refund_ref})", at=at,
            )  # fmt: skip
    return "refunded"
