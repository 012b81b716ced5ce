"""Giving a payment's money back: the refund of an order, of a stray attempt, and the manual payout.

A payment's refund moves through `refund_status`: "" -> requested (committed before the provider is
asked) -> pending (Alipay, WeChat Pay: the provider confirms later) -> succeeded, or -> payout_needed
(the provider could not refund it: the money went back to our provider balance) -> paid_out (staff paid
the customer another way: `topup payments payout-done`). The ledger moves once, when the money really
left: the refund transfer at `succeeded`, or at `paid_out` with code `manual_payout`. So an order whose
refund is pending or failed stays `delivery_failed` and holds its money in flight until then: "every paid
order ends delivered or refunded" stays checkable, and the ledger never says a customer was paid back
before it happened.

A stray payment is an attempt that succeeded although the order was paid by another attempt or had ended
(expired, cancelled): it was captured with its own transfer ids and is refunded on its own (job
`refund_payment`); the order's status never changes for it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from topup.clock import now
from topup.db import ledger
from topup.db.models import Order, OrderEvent, Payment, Transfer
from topup.domain import ledger as postings
from topup.domain.errors import InvalidInput
from topup.domain.money import Money
from topup.domain.orders import PAID_STATES, OrderStatus
from topup.domain.quotes import Quote
from topup.metrics import record
from topup.ports import PaymentEvent, PaymentStatus, RefundResult, RefundState
from topup.services import peers
from topup.services.transitions import move

log = logging.getLogger(__name__)

REQUESTED, PENDING, SUCCEEDED = "requested", "pending", "succeeded"
PAYOUT_NEEDED, PAID_OUT = "payout_needed", "paid_out"
OPEN = (REQUESTED, PENDING)  # a refund the provider may still confirm or fail


def is_paying(order: Order, payment: Payment) -> bool:
    """The attempt whose capture the order holds under the order's transfer ids (others are strays)."""
    if order.current_payment_id not in {"", payment.id}:
        return False
    if OrderStatus(order.status) in PAID_STATES:
        return True
    # An ended order paid late: a stray, unless it was captured before attempts existed (migration 0012)
    # under the order's own ids, its refund job then still queued.
    return not Transfer.objects.filter(id=f"{payment.id}:capture").exists()


def refund_order(order_id: str) -> str:
    """The refund job of an order that will not be delivered (or an eSIM cancelled before use)."""
    order = Order.objects.get(id=order_id)
    succeeded = Payment.objects.filter(order_id=order_id, status=PaymentStatus.SUCCEEDED.value)
    payment = next((p for p in succeeded.order_by("attempt") if is_paying(order, p)), None)
    if payment is None:
        return "nothing"
    return _request(payment, f"rfd_{order_id}")


def refund_stray(payment_id: str) -> str:
    """The refund job of a stray attempt."""
    payment = Payment.objects.filter(id=payment_id, status=PaymentStatus.SUCCEEDED.value).first()
    if payment is None:
        return "nothing"
    return _request(payment, f"rfd_{payment_id}")


def _request(payment: Payment, refund_id: str) -> str:
    """Ask the provider once per refund id (it replays the same refund); outcomes: refunded, pending,
    payout_needed, nothing (already settled), or `retry:<code>` when the provider refused for now."""
    Payment.objects.filter(id=payment.id, refund_status="").update(refund_status=REQUESTED)
    if Payment.objects.filter(id=payment.id, refund_status=REQUESTED).count() == 0:
        return "nothing"
    if payment.provider_ref is None:
        return "nothing"
    amount = Money(payment.amount_minor, payment.currency)
    if amount.is_positive():
        provider = peers.current().payment_provider(payment.provider)
        result = provider.refund(payment.provider_ref, amount, refund_id=refund_id)
    else:  # a free order (a promotion paid it): no money goes back, only its promotions (services/promotions)
        result = RefundResult(refund_ref="", succeeded=True)
    state = _state(result)
    if state is None:
        return f"retry:{result.code or 'refund_refused'}"
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(id=payment.id)
        order = Order.objects.select_for_update().get(id=locked.order_id)
        outcome = settle(order, locked, state, refund_ref=result.refund_ref, code=result.code or "", at=now())
        if result.refund_ref:
            # Stripe's `charge.refunded` does not name the refund: when it settled the payment first, the
            # refund's id comes from this answer.
            Payment.objects.filter(id=payment.id, refund_ref="").update(refund_ref=result.refund_ref)
        return outcome


def _state(result: RefundResult) -> RefundState | None:
    """SUCCEEDED, PENDING or FAILED for good; None: refused for now (retried with the same refund id)."""
    if result.state is not None:
        return result.state
    return RefundState.SUCCEEDED if result.succeeded else None


def on_event(order: Order, payment: Payment, event: PaymentEvent, at: datetime) -> str:
    """refund.pending / refund.succeeded / refund.failed from the provider (rows locked by the caller)."""
    state = {
        "refund.pending": RefundState.PENDING,
        "refund.succeeded": RefundState.SUCCEEDED,
        "refund.failed": RefundState.FAILED,
    }[event.type]
    return settle(
        order, payment, state, refund_ref=event.refund_ref or "", code=event.failure_code or "", at=at
    )


def settle(
    order: Order, payment: Payment, state: RefundState, *, refund_ref: str, code: str, at: datetime
) -> str:
    """Record what the provider says of an open refund, once; inside a transaction, rows locked."""
    if payment.refund_status not in OPEN or payment.status != PaymentStatus.SUCCEEDED:
        return "ignored"
    ref = refund_ref or payment.refund_ref
    if state is RefundState.PENDING:
        Payment.objects.filter(id=payment.id).update(refund_status=PENDING, refund_ref=ref, updated_at=at)
        return "refund_pending"
    if state is RefundState.FAILED:
        return _payout_needed(order, payment, ref, code, at)
    _money_back(order, payment, at, code="refund_issued", detail=ref, refund_status=SUCCEEDED, refund_ref=ref)
    log.info("refunded", extra={"order_id": order.id, "payment_id": payment.id})
    return "refunded"


def _money_back(
    order: Order, payment: Payment, at: datetime, *, code: str, detail: str, **fields: object
) -> None:
    """The payment is refunded: its status, the ledger, and the order's status when it was the paying one."""
    Payment.objects.filter(id=payment.id).update(
        status=PaymentStatus.REFUNDED.value, refunded_minor=payment.amount_minor, updated_at=at, **fields
    )
    if not is_paying(order, payment):
        amount = Money(payment.amount_minor, payment.currency)
        back = postings.stray_payment_refunded(order.id, payment.id, payment.provider, amount, code=code)
        ledger.post(back, now=at, order_id=order.id)
        return
    quote = Quote.from_dict(order.quote)
    back = postings.refund_issued(order.id, payment.provider, quote, code=code)
    if order.status == OrderStatus.DELIVERED:  # an eSIM cancelled before download: undo the delivery too
        back = postings.delivery_reversed(order.id, quote) + back
    if order.status in {OrderStatus.DELIVERY_FAILED, OrderStatus.DELIVERED}:
        move(order, OrderStatus.REFUNDED, at=at, code="refunded", detail=detail)
    ledger.post(back, now=at, order_id=order.id)


def _payout_needed(order: Order, payment: Payment, refund_ref: str, code: str, at: datetime) -> str:
    """The provider could not refund: never lost, flagged for staff (alert, metric, admin, CLI)."""
    Payment.objects.filter(id=payment.id).update(
        refund_status=PAYOUT_NEEDED,
        refund_ref=refund_ref,
        failure_code=code or "refund_failed",
        updated_at=at,
    )
    record.open_item(record.OPEN_PAYOUTS, +1, at)  # /metrics: topup_payouts_needed
    OrderEvent.objects.create(
        order_id=order.id, from_status=order.status, to_status=order.status, code="refund_failed",
        detail=f"payment {payment.id}: refund {refund_ref} failed ({code}); manual payout needed", at=at,
    )  # fmt: skip
    log.error(
        "refund of payment %s failed (%s): pay the customer back by hand, then `topup payments payout-done`",
        payment.id, code or "refund_failed",
        extra={"order_id": order.id, "payment_id": payment.id, "alert": "refund_failed"},
    )  # fmt: skip
    return PAYOUT_NEEDED


def payouts() -> list[dict[str, object]]:
    """Payments whose refund failed and that staff must still pay back by hand, oldest first."""
    rows = Payment.objects.filter(refund_status=PAYOUT_NEEDED).order_by("updated_at", "id")
    return [
        {
            "payment_id": p.id,
            "order_id": p.order_id,
            "method": p.method,
            "provider": p.provider,
            "amount": str(Money(p.amount_minor, p.currency)),
            "refund_ref": p.refund_ref,
            "code": p.failure_code,
            "since": p.updated_at.isoformat(),
        }
        for p in rows
    ]


def payout_done(payment_id: str, reference: str) -> str:
    """Record that staff paid the customer back another way (`reference`: their bank transfer): the
    ledger's refund transfer (code manual_payout) and, for the paying attempt, the order `refunded`.
    Outcomes: paid_out, or not_needed when the payment is not waiting for a payout."""
    if not reference.strip():
        raise InvalidInput(
            "a payout needs the reference of the bank transfer", code="payout_reference_required",
            field="reference",
        )  # fmt: skip
    at = now()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(id=payment_id).first()
        if payment is None or payment.refund_status != PAYOUT_NEEDED:
            return "not_needed"
        order = Order.objects.select_for_update().get(id=payment.order_id)
        _money_back(
            order, payment, at, code="manual_payout", detail=f"manual payout {reference}",
            refund_status=PAID_OUT, payout_reference=reference[:200], payout_at=at,
        )  # fmt: skip
        record.open_item(record.OPEN_PAYOUTS, -1, at)
        OrderEvent.objects.create(
            order_id=order.id, from_status=order.status, to_status=order.status, code="payout_done",
            detail=f"payment {payment.id}: paid out by hand ({reference[:200]})", at=at,
        )  # fmt: skip
    log.warning("manual payout recorded", extra={"order_id": order.id, "payment_id": payment_id})
    return PAID_OUT
