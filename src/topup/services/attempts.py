"""A new payment attempt on an order whose payment was declined or abandoned, with the same or another method.

The key is claimed before any outside call (its payment id is the provider's idempotency key). The current
attempt is cancelled at the provider first: if the provider says it succeeded meanwhile, that attempt pays
the order and no new attempt is made. Then the new attempt is created at the provider and saved as the
order's current one, under the order's row lock, only if nothing changed meanwhile; an attempt that lost
that race stays on record (superseded), so a success of it is refunded like any stray.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max

from topup.clock import now
from topup.db.models import Order, OrderEvent, Payment
from topup.domain.errors import Conflict, InvalidInput
from topup.domain.orders import OrderStatus
from topup.domain.payment_attempts import check_method_currency, check_retry
from topup.domain.quotes import Quote
from topup.ports import PaymentRequest, PaymentResult, PaymentStatus, PortUnavailable, ProviderRequestError
from topup.services import fx, payments, peers, plan_text, promotions
from topup.services.delivery import JobResult
from topup.services.idempotency import (
    IdempotencyKey,
    StoredResponse,
    claim,
    complete,
    release,
    released_on_failover,
    replay,
    twin_answer,
)
from topup.services.order_access import Caller, order_token, owned_order, with_token
from topup.services.order_view import order_document
from topup.services.orders import PAYMENT_METHODS, ProviderUnavailable
from topup.settings import CONFIG

log = logging.getLogger(__name__)


def retry_payment(
    order_id: str, caller: Caller, *, payment_method: str, idem: IdempotencyKey
) -> StoredResponse:
    """Pay the order with a new attempt (201 with the order), or replay the answer of this key.

    Raises NotFound order_not_found for a caller who may not see the order (exactly as reading it),
    InvalidInput for a method not offered or not for this currency, Conflict when the order cannot take a
    new attempt (order_expired, order_not_awaiting_payment, payment_processing, too_many_payment_attempts,
    fx_rate_unavailable for Alipay or WeChat Pay without a recent rate),
    ProviderUnavailable when the provider cannot be reached (nothing changed; the same key may be resent).
    """
    order = owned_order(order_id, caller)
    stored = replay(idem)
    if stored is None:
        _check(order, payment_method)
        quote = fx.for_attempt(Quote.from_dict(order.quote), payment_method)  # fx_rate_unavailable
        promotions.reserve_again(order, now())  # uses a failed payment released (promo_code_used_up if gone)
        claimed = claim(idem, fx.claimed_with(quote))
        if isinstance(claimed, StoredResponse):
            stored = claimed
        else:
            quote = fx.as_first_run(quote, claimed.frozen)
            with released_on_failover(idem):  # a failover gives the claim back: the retry resumes it
                stored = _retry_claimed(order, claimed.payment_id, _Attempt(payment_method, quote), idem)
    if stored.status == LOST:
        raise Conflict("the order changed meanwhile", code="order_not_awaiting_payment", field="order_id")
    return StoredResponse(stored.status, with_token(stored.body))


LOST = 409  # the stored answer of an attempt that lost a race (the order was paid or retried meanwhile)


def _check(order: Order, method: str) -> None:
    if peers.current().provider_name_for(method) is None:
        offered = [m for m in PAYMENT_METHODS if peers.current().provider_name_for(m)]
        raise InvalidInput(
            f"payment_method must be one of {', '.join(offered)}", code="invalid_payment_method",
            field="payment_method",
        )  # fmt: skip
    check_method_currency(method, order.currency)
    current = Payment.objects.filter(id=order.current_payment_id).first()
    check_retry(
        order_status=order.status,
        past_expiry=order.created_at <= now() - timedelta(seconds=CONFIG.payment_ttl_s),
        payment_status=current.status if current else PaymentStatus.FAILED.value,
        attempts=Payment.objects.filter(order_id=order.id).count(),
        max_attempts=CONFIG.payment_max_attempts,
    )


@dataclass(frozen=True)
class _Attempt:
    """What the new attempt pays with: its method, and the order's quote with this attempt's yuan side
    (a fresh rate for Alipay and WeChat Pay, none for any other method), frozen into the order when the
    attempt becomes its current one. It is charged `quote.charge`: the yuan amount when this method is
    charged in CNY, else the EUR total."""

    method: str
    quote: Quote


def _retry_claimed(order: Order, payment_id: str, new: _Attempt, idem: IdempotencyKey) -> StoredResponse:
    old = Payment.objects.filter(id=order.current_payment_id).first()
    try:
        if old is not None and old.provider_ref:
            cancelled = _cancel(old)
            if cancelled is not None and cancelled.status is PaymentStatus.SUCCEEDED:
                return _paid_meanwhile(order, old, idem, cancelled.payment_ref)
            if cancelled is not None and cancelled.status is PaymentStatus.PROCESSING:
                # Stripe cannot cancel it and it may still succeed: the rule of check_retry, as the
                # provider tells it (its processing webhook may not be here yet). No second charge.
                release(idem)
                raise Conflict(
                    "the bank is still confirming the current payment", code="payment_processing",
                    field="order_id",
                )  # fmt: skip
        provider = peers.current().payment_provider(str(peers.current().provider_name_for(new.method)))
        created = provider.create_payment(
            PaymentRequest(
                payment_id=payment_id, order_id=order.id, method=new.method,
                amount=new.quote.charge,
                description=plan_text.payment_description(order.plan_id, order.msisdn, order.language),
                return_url=f"{CONFIG.public_url}/orders/{order.id}?token={order_token(order.id)}",
                language=order.language,
            )
        )  # fmt: skip
    except (PortUnavailable, ProviderRequestError) as exc:
        log.error("payment provider could not make a new attempt: %s", exc, extra={"order_id": order.id})
        release(idem)
        raise ProviderUnavailable(str(exc)) from exc
    return _save_attempt(
        order.id, old, idem, payment_id=payment_id, provider=provider.name, new=new, created=created
    )


def _cancel(old: Payment) -> PaymentResult | None:
    """Cancel the replaced attempt at its provider. A provider that cannot cancel (refuses the request)
    leaves it open there: should it still succeed, it is a stray and refunded."""
    provider = peers.current().payment_provider(old.provider)
    try:
        return provider.cancel_payment(str(old.provider_ref), idempotency_key=f"cancel_{old.id}")
    except ProviderRequestError as exc:
        log.warning(
            "attempt %s not cancelled at the provider: %s", old.id, exc, extra={"order_id": old.order_id}
        )
        return None


def _paid_meanwhile(
    order: Order, old: Payment, idem: IdempotencyKey, payment_ref: str | None
) -> StoredResponse:
    """The attempt being replaced had succeeded: it pays the order (once), and no new attempt is made."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(id=old.id)
        payments.adopt_payment_ref(payment, payment_ref)
        locked = Order.objects.select_for_update().get(id=order.id)
        outcome = payments.record_success(locked, payment, now())
        body = _document(order.id)
        complete(idem, 200, body)
    log.info("attempt succeeded before its cancel: %s", outcome, extra={"order_id": order.id})
    return StoredResponse(200, body)


def _save_attempt(
    order_id: str, old: Payment | None, idem: IdempotencyKey, *, payment_id: str, provider: str,
    new: _Attempt, created: PaymentResult,
) -> StoredResponse:  # fmt: skip
    at = now()
    try:
        with transaction.atomic():
            if old is not None:  # row locks in the webhook's order: the payment, then its order
                Payment.objects.select_for_update().filter(id=old.id).first()
            order = Order.objects.select_for_update().get(id=order_id)
            number = (Payment.objects.filter(order_id=order_id).aggregate(n=Max("attempt"))["n"] or 0) + 1
            charge = new.quote.charge
            Payment.objects.create(
                id=payment_id, order_id=order_id, provider=provider, method=new.method, attempt=number,
                status=created.status.value, provider_ref=created.provider_ref,
                checkout_url=created.checkout_url or "", amount_minor=charge.amount_minor,
                currency=charge.currency, created_at=at, updated_at=at,
                **payments.next_action_fields(created),
            )  # fmt: skip
            if order.status != OrderStatus.AWAITING_PAYMENT or order.current_payment_id != (
                old.id if old else ""
            ):
                # Paid or ended meanwhile, or another retry won: this attempt is kept only to be refunded.
                Payment.objects.filter(id=payment_id).update(status=PaymentStatus.FAILED.value,
                                                             failure_code="superseded")  # fmt: skip
                payments.enqueue(CANCEL_JOB, payment_id, at=at)  # closed at the provider too
                complete(idem, LOST, {"id": order_id})
                return StoredResponse(LOST, {"id": order_id})
            if old is not None:
                Payment.objects.filter(id=old.id, status__in=_REPLACEABLE).update(
                    status=PaymentStatus.FAILED.value,
                    failure_code=old.failure_code or "superseded",
                    updated_at=at,
                )
            # The paying attempt's quote (its yuan side) is what every page, receipt, SMS and the ledger read.
            Order.objects.filter(id=order_id).update(
                current_payment_id=payment_id, quote=new.quote.to_dict(), updated_at=at
            )
            OrderEvent.objects.create(
                order_id=order_id, from_status=order.status, to_status=order.status, code="payment_retried",
                detail=f"attempt {number}: {new.method}", at=at,
            )  # fmt: skip
            body = _document(order_id)
            complete(idem, 201, body)
    except IntegrityError:
        return twin_answer(idem)
    return StoredResponse(201, body)


_REPLACEABLE = (PaymentStatus.REQUIRES_ACTION.value, PaymentStatus.FAILED.value)


def _document(order_id: str) -> dict[str, object]:
    order = Order.objects.select_related("line").get(id=order_id)
    return order_document(order, list(order.payments.all()), history=list(order.events.all()))


CANCEL_JOB = "cancel_payment"
_ABANDONED = (PaymentStatus.REQUIRES_ACTION.value, PaymentStatus.FAILED.value)


def cancel_abandoned(payment_id: str, attempt: int) -> JobResult:
    """The job that closes at the provider an attempt nobody will pay any more (its order expired, or a
    concurrent retry won), so that the payer cannot pay it later. If it succeeded meanwhile it is recorded:
    a success the order can no longer take is captured and refunded, never delivered."""
    payment = Payment.objects.filter(id=payment_id, status__in=_ABANDONED).first()
    if payment is None or not payment.provider_ref:
        return JobResult(done=True, note="nothing open")
    provider = peers.current().payment_provider(payment.provider)
    try:
        result = provider.cancel_payment(payment.provider_ref, idempotency_key=f"cancel_{payment.id}")
    except (
        ProviderRequestError
    ) as exc:  # e.g. Stripe will not cancel a processing payment: its webhook ends it
        return JobResult(done=True, note=f"not cancelled: {exc.code}")
    except PortUnavailable as exc:
        return JobResult(done=False, retry_in_s=min(2.0 * 2 ** min(attempt - 1, 8), 300.0), note=str(exc))
    if result.status is PaymentStatus.SUCCEEDED:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(id=payment.id)
            payments.adopt_payment_ref(locked, result.payment_ref)
            order = Order.objects.select_for_update().get(id=locked.order_id)
            return JobResult(done=True, note=payments.record_success(order, locked, now()))
    return JobResult(done=True, note=f"cancelled at the provider: {result.status}")
