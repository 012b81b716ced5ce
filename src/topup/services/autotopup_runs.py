"""Auto top-up runs: one per period (or threshold event), each an order charged off-session to the saved card.

The sweep creates the run row first (unique per auto top-up and period key: a second sweep, a restarted
worker or a racing one finds it and does nothing), then queues the `auto_topup_run` job. The job places
the order (channel `auto`) and its payment with ids saved before the provider is called, and charges with
the payment id as idempotency key: a crash between any two steps resumes on the same order and payment.
Success goes through `payments.record_success` (ledger capture, delivery) like any paid order; a decline
cancels that order and tries again later with a new one, up to TOPUP_AUTOTOPUP_MAX_ATTEMPTS, then the auto
top-up pauses and the customer is told.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum

from topup.clock import BRUSSELS, new_id, now
from topup.db.models import AutoTopup, AutoTopupRun, Order, OrderEvent, Payment
from topup.domain import autotopup as rules
from topup.domain.errors import DomainError, IllegalTransition
from topup.domain.money import Money
from topup.domain.orders import OrderStatus
from topup.metrics import record
from topup.ports import OffSessionCharge, PaymentStatus, PortUnavailable
from topup.services import autotopup, autotopup_notices, jobs, orders, payments
from topup.services.delivery import JobResult
from topup.services.order_access import order_token, token_hash
from topup.services.transitions import move
from topup.settings import CONFIG

log = logging.getLogger(__name__)

RUN_JOB = "auto_topup_run"
IN_FLIGHT = (rules.RunState.STARTED.value, rules.RunState.RETRYING.value)
PAID_OR_LATER = (OrderStatus.PAID, OrderStatus.DELIVERING, OrderStatus.DELIVERED)


def _local_day(at: datetime) -> datetime:
    return at.astimezone(BRUSSELS)


def queue_run(run_id: str, at: datetime, attempt: int = 0) -> None:
    """The run's job (one per run and attempt: a job's (kind, subject) is unique)."""
    subject = f"{run_id}#{attempt}" if attempt else run_id
    jobs.add_one(RUN_JOB, subject, at=at, skip_duplicate=True)


def open_run(auto_topup: AutoTopup, period_key: str, at: datetime) -> AutoTopupRun | None:
    """Create the run for a period and queue it; None when that period already has one."""
    run = AutoTopupRun(
        id=new_id("atr"), auto_topup=auto_topup, period_key=period_key[:60],
        month=rules.month_key(_local_day(at).date()), created_at=at, updated_at=at,
    )  # fmt: skip
    try:
        with transaction.atomic():
            run.save(force_insert=True)
            queue_run(run.id, at)
    except IntegrityError:
        return None
    return run


def schedule_due(at: datetime) -> int:
    """The sweep: a run for every periodic auto top-up that is due, and a reminder a day before."""
    opened = 0
    due = AutoTopup.objects.filter(
        status=rules.Status.ACTIVE.value, trigger=rules.Trigger.PERIODIC.value, next_run_at__lte=at
    )[:200]
    for found in due:
        assert found.next_run_at is not None
        period = rules.Period(found.period)
        key = rules.period_key(period, _local_day(found.next_run_at).date())
        later = found.next_run_at
        while later <= at:  # a worker that was down for periods runs the current one once
            later = rules.next_run(period, later)
        ran = AutoTopupRun.objects.filter(auto_topup=found).count()
        if found.number_of_periods is not None and ran >= found.number_of_periods:  # TMF654 numberOfPeriods
            AutoTopup.objects.filter(id=found.id, status=rules.Status.ACTIVE.value).update(
                status=rules.Status.CANCELLED.value, cancelled_at=at, next_run_at=None, updated_at=at
            )
            continue
        with transaction.atomic():
            if AutoTopup.objects.filter(id=found.id, next_run_at=found.next_run_at).update(
                next_run_at=later, updated_at=at
            ):
                opened += open_run(found, key, at) is not None
    remind_before(at)
    return opened


def remind_before(at: datetime) -> None:
    """A reminder before each periodic charge (once per period: the notify subject carries its key)."""
    soon = AutoTopup.objects.filter(
        status=rules.Status.ACTIVE.value, trigger=rules.Trigger.PERIODIC.value,
        next_run_at__gt=at, next_run_at__lte=at + rules.REMINDER_BEFORE,
    )  # fmt: skip
    for found in soon[:500]:
        assert found.next_run_at is not None
        key = rules.period_key(rules.Period(found.period), _local_day(found.next_run_at).date())
        if found.reminded_for != key:
            with transaction.atomic():
                AutoTopup.objects.filter(id=found.id).update(reminded_for=key)
                autotopup_notices.reminder(found.id, key, at)


# ---- the run job ----------------------------------------------------------------------------------------


def run(subject_id: str, _attempt: int) -> JobResult:
    """Place the run's order if it has none, charge it, record the outcome."""
    run_id = subject_id.partition("#")[0]
    found = AutoTopupRun.objects.select_related("auto_topup").filter(id=run_id).first()
    if found is None or found.state not in IN_FLIGHT:
        return JobResult(done=True, note="nothing to do")
    paid = Payment.objects.filter(id=found.payment_id, status=PaymentStatus.SUCCEEDED.value).first()
    if paid is not None:  # its webhook settled the charge before this job heard back
        return _succeeded(found, paid)
    if found.auto_topup.status != rules.Status.ACTIVE:  # a late success of its order is refunded as a stray
        AutoTopupRun.objects.filter(id=run_id, state__in=IN_FLIGHT).update(
            state=rules.RunState.SKIPPED.value, updated_at=now()
        )
        with transaction.atomic():
            _cancel_order(found, "auto_topup_stopped")
        return JobResult(done=True, note="auto top-up not active")
    if found.order_id is None:
        placed = _place(found)
        if placed is not None:
            return placed
    return _charge(AutoTopupRun.objects.select_related("auto_topup").get(id=run_id))


def _spent(auto_topup: AutoTopup, month: str, other_than: str) -> int:
    """What this month's runs took or are taking (charged, or placed and charging) besides this one."""
    runs = AutoTopupRun.objects.filter(auto_topup=auto_topup, month=month).exclude(id=other_than)
    taking = runs.filter(state=rules.RunState.CHARGED.value) | runs.filter(
        state__in=IN_FLIGHT, order__isnull=False
    )
    return int(taking.aggregate(total=Sum("amount_minor"))["total"] or 0)


def _place(found: AutoTopupRun) -> JobResult | None:
    """The run's order and its payment, saved before any charge; None when placed (or already placed)."""
    origin = Order.objects.select_related("line").get(id=found.auto_topup.origin_id)
    if found.auto_topup.line_id is None and origin.line_id:  # a new eSIM's line exists once delivered
        AutoTopup.objects.filter(id=found.auto_topup_id).update(line_id=origin.line_id)
    try:
        priced = orders.price(
            orders.QuoteRequest(
                found.auto_topup.plan_id, msisdn=origin.msisdn if origin.line is None else "",
                network_confirmed=True, iccid=origin.line.iccid if origin.line else "", channel="auto",
            )
        )  # fmt: skip
    except DomainError as exc:  # the plan is gone, the line was archived: nothing to renew
        AutoTopupRun.objects.filter(id=found.id).update(
            state=rules.RunState.SKIPPED.value, failure_code=exc.code[:60], updated_at=now()
        )
        return JobResult(done=True, note=f"not renewable: {exc.code}")
    at = now()
    with transaction.atomic():
        atu = AutoTopup.objects.select_for_update().get(id=found.auto_topup_id)  # one month's runs at a time
        current = AutoTopupRun.objects.select_for_update().get(id=found.id)
        if current.order_id is not None or current.state not in IN_FLIGHT:
            return None
        price_minor = priced.quote.total.amount_minor
        if not rules.within_cap(_spent(atu, current.month, current.id), price_minor, atu.cap_minor):
            AutoTopupRun.objects.filter(id=current.id).update(
                state=rules.RunState.CAPPED.value, amount_minor=price_minor, updated_at=at
            )
            autotopup_notices.capped(current.id, at)
            return JobResult(done=True, note="over the monthly cap")
        order, payment = _new_order(origin, priced, at=at)
        AutoTopupRun.objects.filter(id=current.id).update(
            order=order, payment_id=payment.id, amount_minor=price_minor, updated_at=at
        )
    return None


def _new_order(origin: Order, priced: orders.Priced, *, at: datetime) -> tuple[Order, Payment]:
    """An order of the same plan for the same line (channel `auto`), and its payment: each charge attempt
    is an order of its own, so that a declined one ends cancelled and a late success is refunded."""
    quote = priced.quote
    order_id = new_id("ord")
    order = Order.objects.create(
        id=order_id, plan_id=quote.plan_id, network_id=quote.network_id, msisdn=quote.msisdn,
        line_id=priced.line_id, email=origin.email, channel="auto", language=origin.language,
        status=OrderStatus.AWAITING_PAYMENT.value, total_minor=quote.total.amount_minor,
        currency=quote.currency, quote=quote.to_dict(), created_at=at, updated_at=at,
        token_hash=token_hash(order_token(order_id)),
    )  # fmt: skip
    OrderEvent.objects.bulk_create([
        OrderEvent(order=order, from_status="", to_status=OrderStatus.CREATED.value, at=at),
        OrderEvent(order=order, from_status=OrderStatus.CREATED.value,
                   to_status=OrderStatus.AWAITING_PAYMENT.value, code="auto_topup", at=at),
    ])  # fmt: skip
    payment = Payment.objects.create(
        id=new_id("pay"), order=order, provider=autotopup.saved_cards().name, method="card",
        status=PaymentStatus.PROCESSING.value, attempt=1, amount_minor=quote.total.amount_minor,
        currency=quote.currency, created_at=at, updated_at=at,
    )  # fmt: skip
    Order.objects.filter(id=order.id).update(current_payment_id=payment.id)
    order.current_payment_id = payment.id
    record.order_placed(order, payment.method)
    return order, payment


def charge_request(found: AutoTopupRun) -> OffSessionCharge:
    """The run's current charge; its payment id is the idempotency key, so asking again replays it."""
    payment = Payment.objects.get(id=found.payment_id)
    atu = found.auto_topup
    return OffSessionCharge(
        payment_id=payment.id, order_id=payment.order_id,
        amount=Money(payment.amount_minor, payment.currency), customer_ref=atu.customer_ref,
        payment_method_ref=atu.payment_method_ref,
        description=f"Auto top-up {atu.plan_id} ({payment.order_id})",
    )  # fmt: skip


def _charge(found: AutoTopupRun) -> JobResult:
    payment = Payment.objects.get(id=found.payment_id)
    if payment.status == PaymentStatus.SUCCEEDED:  # its webhook settled it before we heard back
        return _succeeded(found, payment)
    if payment.status == PaymentStatus.FAILED:
        return _declined(found, payment, payment.failure_code or "card_declined")
    try:
        result = autotopup.saved_cards().charge_off_session(charge_request(found))
    except PortUnavailable as exc:  # unknown: the same payment id asks again and finds the first charge
        return JobResult(done=False, retry_in_s=30.0, note=f"provider unavailable: {exc}")
    if result.provider_ref:
        payments.adopt_payment_ref(payment, result.provider_ref)
    if result.status is PaymentStatus.SUCCEEDED:
        return _succeeded(found, payment)
    if result.status is PaymentStatus.PROCESSING:
        return JobResult(done=False, retry_in_s=60.0, note="processing at the provider")
    return _declined(found, payment, result.code or "card_declined")


def _succeeded(found: AutoTopupRun, payment: Payment) -> JobResult:
    at, late = now(), False
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(id=payment.id)
        order = Order.objects.select_for_update().get(id=locked.order_id)
        outcome = payments.record_success(order, locked, at)
        if outcome == "late_payment_refund" or order.status not in PAID_OR_LATER:
            late = True  # the order had expired meanwhile: its money goes back; this run tries again
        elif AutoTopupRun.objects.filter(id=found.id, state__in=IN_FLIGHT).update(
            state=rules.RunState.CHARGED.value, updated_at=at
        ):
            AutoTopup.objects.filter(id=found.auto_topup_id).update(failures=0, updated_at=at)
            autotopup_notices.charged(found.id, at)
    if late:
        return _declined(found, payment, "order_expired")
    return JobResult(done=True, note="charged")


def _declined(found: AutoTopupRun, payment: Payment, code: str) -> JobResult:
    """A failed charge: this attempt's order is cancelled; another attempt later, or pause and tell."""
    at = now()
    with transaction.atomic():
        Payment.objects.filter(id=payment.id, status=PaymentStatus.PROCESSING.value).update(
            status=PaymentStatus.FAILED.value, failure_code=code[:60], updated_at=at
        )
        current = AutoTopupRun.objects.select_for_update().get(id=found.id)
        if current.state not in IN_FLIGHT or current.payment_id != payment.id:
            return JobResult(done=True, note="already recorded")
        _cancel_order(current, code)
        attempts = current.attempts + 1
        decision = rules.after_failure(
            code, attempts, CONFIG.autotopup_max_attempts, timedelta(seconds=CONFIG.autotopup_retry_s)
        )
        AutoTopupRun.objects.filter(id=current.id).update(
            attempts=attempts, failure_code=code[:60], order=None, payment_id="", updated_at=at,
            state=rules.RunState.FAILED.value if decision.pause else rules.RunState.RETRYING.value,
        )  # fmt: skip
        if decision.pause:
            AutoTopup.objects.filter(id=current.auto_topup_id, status=rules.Status.ACTIVE.value).update(
                status=rules.Status.PAUSED.value, failures=attempts, updated_at=at
            )
            autotopup_notices.paused(current.id, at)
            log.warning("auto top-up %s paused after %d failed charges (%s)", current.auto_topup_id,
                        attempts, code)  # fmt: skip
            return JobResult(done=True, note=f"paused: {code}")
        assert decision.retry_in is not None
        queue_run(current.id, at + decision.retry_in, attempt=attempts)
    return JobResult(done=True, note=f"declined ({code}); attempt {attempts + 1} queued")


def _cancel_order(found: AutoTopupRun, code: str) -> None:
    order = Order.objects.select_for_update().filter(id=found.order_id).first() if found.order_id else None
    if order is None or order.status != OrderStatus.AWAITING_PAYMENT:
        return
    with contextlib.suppress(IllegalTransition):  # a concurrent writer ended it first
        move(order, OrderStatus.CANCELLED, at=now(), code=code[:60], detail="auto top-up charge failed")


HANDLERS = {RUN_JOB: run}
