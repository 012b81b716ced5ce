"""Auto top-up: set up with a card order, switched on when its first payment has saved the card, read and
cancelled by whoever may see that order (services/order_access) or by the one-click link in each message.

The life of one: `pending` (the first order is placed; its card payment saves the card at the provider)
-> `active` (the card is saved; autotopup_runs charges it each period or when the credit runs low)
-> `paused` (charges failed; the customer was told) or `cancelled` (by the customer, or the first
payment never succeeded). Runs live in `services/autotopup_runs`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from topup.clock import now
from topup.db.models import AutoTopup, Order, Payment
from topup.domain import autotopup as rules
from topup.domain.errors import InvalidInput, NotFound
from topup.domain.orders import OrderStatus
from topup.domain.quotes import Quote
from topup.ports import PaymentStatus, SavedCardProvider
from topup.services import jobs, peers
from topup.services.delivery import JobResult
from topup.services.order_access import Caller, may_access
from topup.services.payments import enqueue
from topup.settings import CONFIG

log = logging.getLogger(__name__)

ACTIVATE_JOB = "auto_topup_activate"
PAID_OR_LATER = (OrderStatus.PAID, OrderStatus.DELIVERING, OrderStatus.DELIVERED)
UNPAID_ENDS = (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
_KEY = hmac.new(CONFIG.secret_key.encode(), b"topup auto top-up cancel v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class Choice:
    """What the buyer asked for, as a channel read it (the API's `auto_topup`, the review step's choice)."""

    trigger: str  # periodic | threshold
    period: str = ""  # weekly | fortnightly | monthly (periodic)
    threshold_minor: int = 0  # threshold on a credit plan: top up below this credit
    cap_minor: int = 0  # at most this much per calendar month
    number_of_periods: int | None = None  # TMF654 numberOfPeriods: periodic runs before it ends


def saved_cards() -> SavedCardProvider:
    provider = peers.current().saved_cards
    if provider is None:
        raise InvalidInput(
            "auto top-up needs a card provider that saves cards", code="auto_topup_unavailable",
            field="auto_topup",
        )  # fmt: skip
    return provider


def check_choice(choice: Choice | None, payment_method: str, quote: Quote) -> rules.Spec | None:
    """The rules applied to a choice before anything is claimed; only a card can be charged later."""
    if choice is None:
        return None
    if payment_method != "card":
        raise InvalidInput(
            "auto top-up is paid with a saved card; Bancontact, Alipay and WeChat Pay cannot be charged "
            "without you", code="auto_topup_card_only", field="payment_method",
        )  # fmt: skip
    saved_cards()
    return rules.make_spec(
        choice.trigger, choice.period, choice.threshold_minor, choice.cap_minor, quote.total.amount_minor
    )


def customer_for(spec: rules.Spec | None, payment_id: str, email: str) -> str:
    """The provider's customer the first payment saves its card to (the same one on every retry)."""
    return saved_cards().create_customer(payment_id, email) if spec else ""


def record_opt_in(
    order: Order, spec: rules.Spec, customer_ref: str, *, auto_topup_id: str, number_of_periods: int | None
) -> AutoTopup:
    """Save the pending auto top-up with its order (in the caller's transaction)."""
    at = order.created_at
    return AutoTopup.objects.create(
        id=auto_topup_id, origin=order, line_id=order.line_id, plan_id=order.plan_id,
        trigger=spec.trigger.value, period=spec.period.value if spec.period else "",
        threshold_minor=spec.threshold_minor, cap_minor=spec.cap_minor, currency=order.currency,
        number_of_periods=number_of_periods if spec.period else None,
        provider=saved_cards().name, customer_ref=customer_ref, status=rules.Status.PENDING.value,
        cancel_token_hash=_hash(cancel_token(auto_topup_id)), created_at=at, updated_at=at,
    )  # fmt: skip


# ---- the one-click cancel link ------------------------------------------------------------------------


def cancel_token(auto_topup_id: str) -> str:
    """`<id>.<HMAC of the id>`: unguessable, and only its SHA-256 is stored."""
    digest = hmac.new(_KEY, auto_topup_id.encode(), hashlib.sha256).digest()
    return f"{auto_topup_id}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def cancel_url(auto_topup_id: str) -> str:
    return f"{CONFIG.public_url}/auto-topup/cancel/{cancel_token(auto_topup_id)}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_cancel_token(token: str) -> AutoTopup:
    """The auto top-up a cancel link names; a forged or altered link is `auto_topup_not_found`."""
    auto_topup_id = token.partition(".")[0]
    found = AutoTopup.objects.filter(id=auto_topup_id[:40]).first()
    if found is None or not hmac.compare_digest(found.cancel_token_hash, _hash(token)):
        raise NotFound("no such auto top-up", code="auto_topup_not_found", field="token")
    return found


# ---- reading and cancelling ---------------------------------------------------------------------------


def owned(auto_topup_id: str, caller: Caller) -> AutoTopup:
    """The auto top-up when the caller may see its first order; anyone else: not found, as if none."""
    found = AutoTopup.objects.select_related("origin", "origin__line").filter(id=auto_topup_id).first()
    if found is None or not may_access(found.origin, caller):
        raise NotFound(f"no auto top-up {auto_topup_id!r}", code="auto_topup_not_found", field="id")
    return found


def document(auto_topup: AutoTopup) -> dict[str, object]:
    """The auto top-up as the API shows it (TMF654 words beside ours)."""
    return {
        "id": auto_topup.id,
        "is_auto_topup": auto_topup.status in {rules.Status.PENDING, rules.Status.ACTIVE},
        "status": auto_topup.status,
        "order_id": auto_topup.origin_id,
        "plan_id": auto_topup.plan_id,
        "trigger": auto_topup.trigger,
        "recurring_period": auto_topup.period or None,
        "threshold": _money(auto_topup.threshold_minor, auto_topup.currency)
        if auto_topup.threshold_minor
        else None,
        "cap_per_month": _money(auto_topup.cap_minor, auto_topup.currency),
        "card": auto_topup.card_label or None,
        "next_run_at": auto_topup.next_run_at.isoformat() if auto_topup.next_run_at else None,
        "failures": auto_topup.failures,
    }


def _money(minor: int, currency: str) -> dict[str, object]:
    return {"amount_minor": minor, "currency": currency}


def get(auto_topup_id: str, caller: Caller) -> dict[str, object]:
    return document(owned(auto_topup_id, caller))


def cancel_owned(auto_topup_id: str, caller: Caller) -> dict[str, object]:
    return document(cancel(owned(auto_topup_id, caller).id, reason="customer"))


def cancel(auto_topup_id: str, *, reason: str) -> AutoTopup:
    """Cancel (once; a second call changes nothing) and forget the saved card at the provider."""
    at = now()
    with transaction.atomic():
        updated = (
            AutoTopup.objects.filter(id=auto_topup_id)
            .exclude(status=rules.Status.CANCELLED.value)
            .update(status=rules.Status.CANCELLED.value, cancelled_at=at, updated_at=at, next_run_at=None)
        )
        if updated:
            enqueue("auto_topup_forget", auto_topup_id, at=at)  # detach the card, outside this transaction
    if updated:
        log.info(
            "auto top-up %s cancelled (%s)", auto_topup_id, reason, extra={"auto_topup_id": auto_topup_id}
        )
    return AutoTopup.objects.get(id=auto_topup_id)


def forget_card(auto_topup_id: str, _attempt: int) -> JobResult:
    """The job after a cancellation: the provider forgets the saved card."""
    found = AutoTopup.objects.filter(id=auto_topup_id).first()
    if found is None or not found.payment_method_ref:
        return JobResult(done=True, note="no saved card")
    saved_cards().forget(found.payment_method_ref, f"detach_{found.id}")
    return JobResult(done=True, note="card forgotten")


# ---- switching on once the first payment saved the card ------------------------------------------------


def settle_pending(at: datetime) -> int:
    """The sweep: a pending auto top-up whose first order was paid gets its activation job; one whose first
    order ended unpaid is cancelled. Returns how many changed."""
    changed = 0
    pending = AutoTopup.objects.filter(status=rules.Status.PENDING.value).select_related("origin")[:200]
    for found in pending:
        status = found.origin.status
        if status in PAID_OR_LATER:
            changed += jobs.add_one(ACTIVATE_JOB, found.id, at=at, skip_duplicate=True)
        elif status in UNPAID_ENDS or status == OrderStatus.REFUNDED:
            changed += AutoTopup.objects.filter(id=found.id, status=rules.Status.PENDING.value).update(
                status=rules.Status.CANCELLED.value, cancelled_at=at, updated_at=at
            )
    return changed


def activate(auto_topup_id: str, _attempt: int) -> JobResult:
    """The activation job: ask the provider which card the first payment saved; active with it."""
    from topup.services import autotopup_notices  # noqa: PLC0415 - notices render this module's links

    found = AutoTopup.objects.select_related("origin").filter(id=auto_topup_id).first()
    if found is None or found.status != rules.Status.PENDING:
        return JobResult(done=True, note="not pending")
    payment = Payment.objects.filter(id=found.origin.current_payment_id).first()
    if payment is None or payment.status not in {PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED}:
        return JobResult(done=False, retry_in_s=30.0, note="first payment not settled")
    card = saved_cards().saved_card(payment.provider_ref or "")
    at = now()
    if card is None or card.customer_ref != found.customer_ref:
        AutoTopup.objects.filter(id=found.id, status=rules.Status.PENDING.value).update(
            status=rules.Status.CANCELLED.value, cancelled_at=at, updated_at=at
        )
        log.warning("auto top-up %s: the first payment saved no card", found.id)
        return JobResult(done=True, note="no card saved")
    first_run = rules.next_run(rules.Period(found.period), payment.updated_at) if found.period else at
    with transaction.atomic():
        if AutoTopup.objects.filter(id=found.id, status=rules.Status.PENDING.value).update(
            status=rules.Status.ACTIVE.value, payment_method_ref=card.payment_method_ref,
            card_label=f"{card.brand} {card.last4}".strip()[:40], next_run_at=first_run, updated_at=at,
        ):  # fmt: skip
            autotopup_notices.started(found.id, at)
    return JobResult(done=True, note="active")


HANDLERS = {ACTIVATE_JOB: activate, "auto_topup_forget": forget_card}
