"""Refunds and goodwill credit asked by an agent: executed at once up to the agent's own limit, above it
only after a supervisor (never the asker) approves.

Race-free on purpose: a decision is one conditional UPDATE (`status = pending` → approved/rejected), so
two supervisors cannot both decide; execution is claimed by another (`outcome = ""` → executing), so an
approval executes once; a unique constraint keeps one live refund request per order.

A refund goes through the existing machinery: a new eSIM not yet downloaded is cancelled at the SM-DP+
(`esim.cancel_before_download`), whose refund job gives the money back through the order's provider
(cash out of the counter's drawer for a cash sale). Goodwill credit on one of our hosted lines is a
ledger transfer from the goodwill expense account to the line's credit.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from topup.clock import new_id, now
from topup.db import ledger
from topup.db.models import AgentProfile, AgentRequest, AgentSale, Line, Order
from topup.domain import cash_drawer
from topup.domain.agents import RequestKind, RequestStatus, Role, check_decider, within_limit
from topup.domain.catalogue import PlanKind
from topup.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from topup.domain.money import Money, parse_money
from topup.ports import PortUnavailable
from topup.services import catalogue, esim, orders, selfcare
from topup.services.agent_audit import Actor, record
from topup.services.agent_customers import customer_index, masked
from topup.services.paid_orders import PaidBy, create_paid_order

EXECUTING = "executing"


def _limit_minor(user_id: int) -> int:
    return int(AgentProfile.objects.values_list("refund_limit_minor", flat=True).get(user_id=user_id))


def request_refund(actor: Actor, customer_ref: str, order_id: str, reason: str) -> AgentRequest:
    """Ask to refund an order of this customer (its whole amount)."""
    order = Order.objects.filter(id=order_id).first()
    if order is None:
        raise NotFound("no such order", code="order_not_found", field="order_id")
    amount = Money(order.total_minor, order.currency)
    return _create(actor, RequestKind.REFUND, customer_ref, amount, reason, order=order)


def request_goodwill(actor: Actor, customer_ref: str, amount_text: str, reason: str) -> AgentRequest:
    """Ask to give goodwill: credit on one of our hosted lines, or on another network's number a free
    top-up of the credit plan with exactly that amount."""
    amount = parse_money(amount_text, "EUR")
    if not amount.is_positive():
        raise InvalidInput("the amount must be positive", code="invalid_amount", field="amount")
    line = Line.objects.filter(msisdn=customer_ref).first() or Line.objects.filter(iccid=customer_ref).first()
    if line is not None:
        return _create(actor, RequestKind.GOODWILL, customer_ref, amount, reason, line=line)
    if not customer_ref.startswith("+"):
        raise InvalidInput("no line to credit", code="goodwill_needs_line", field="amount")
    plan_id = _credit_plan(customer_ref, amount)
    return _create(actor, RequestKind.GOODWILL, customer_ref, amount, reason, plan_id=plan_id)


def _credit_plan(msisdn: str, amount: Money) -> str:
    """The credit plan of the number's network that costs exactly `amount` (a goodwill top-up)."""
    network = catalogue.lookup(msisdn).network
    plans = (
        [p for p in catalogue.plans(network) if p.kind is PlanKind.CREDIT and p.price == amount]
        if network
        else []
    )
    if not plans:
        raise InvalidInput(
            "goodwill on this number is a top-up: choose the amount of one of its credit plans",
            code="goodwill_not_a_plan", field="amount",
        )  # fmt: skip
    return plans[0].id


def _create(
    actor: Actor, kind: RequestKind, ref: str, amount: Money, reason: str, *, order: Order | None = None,
    line: Line | None = None, plan_id: str = "",
) -> AgentRequest:  # fmt: skip
    if not reason.strip():
        raise InvalidInput("say why", code="reason_required", field="reason")
    alone = within_limit(amount.amount_minor, _limit_minor(actor.signed_in_id))
    status = RequestStatus.APPROVED if alone else RequestStatus.PENDING
    try:
        with transaction.atomic():
            row = AgentRequest.objects.create(
                id=new_id("req"), kind=kind.value, status=status.value, order=order, line=line,
                plan_id=plan_id, msisdn=ref if plan_id else "",
                customer_index=customer_index(ref), amount_minor=amount.amount_minor,
                currency=amount.currency, reason=reason.strip()[:500], requested_by_id=actor.signed_in_id,
                created_at=now(),
            )  # fmt: skip
            record(
                actor,
                f"{kind.value}_requested",
                order.id if order else masked(ref),
                f"{amount} {status.value}",
            )
    except IntegrityError:
        raise Conflict(
            "a refund of this order is already asked for", code="refund_already_requested"
        ) from None
    if alone:
        execute(actor, row.id)
        row.refresh_from_db()
    return row


def decide(actor: Actor, role: Role, request_id: str, *, approve: bool) -> AgentRequest:
    """A supervisor approves (then it executes) or rejects a pending request, once."""
    row = AgentRequest.objects.filter(id=request_id).first()
    if row is None:
        raise NotFound("no such request", code="request_not_found", field="request_id")
    check_decider(row.requested_by_id, actor.signed_in_id, role)
    new = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    with transaction.atomic():
        changed = AgentRequest.objects.filter(id=request_id, status=RequestStatus.PENDING.value).update(
            status=new.value, decided_by_id=actor.user_id, decided_at=now()
        )
        if not changed:
            raise Conflict("this request was already decided", code="already_decided")
        record(actor, f"{row.kind}_{'approved' if approve else 'rejected'}", row.order_id or row.id)
    if approve:
        execute(actor, request_id)
    row.refresh_from_db()
    return row


def execute(actor: Actor, request_id: str) -> str:
    """Carry out an approved request once; its outcome code (or `already_executed`)."""
    claimed = AgentRequest.objects.filter(
        id=request_id, status=RequestStatus.APPROVED.value, outcome=""
    ).update(outcome=EXECUTING)
    if not claimed:
        return "already_executed"
    row = AgentRequest.objects.get(id=request_id)
    try:
        outcome = _refund(row) if row.kind == RequestKind.REFUND else _goodwill(row)
        status = RequestStatus.EXECUTED
    except (DomainError, PortUnavailable) as exc:
        outcome, status = getattr(exc, "code", "unavailable"), RequestStatus.FAILED
    AgentRequest.objects.filter(id=request_id).update(status=status.value, outcome=outcome, executed_at=now())
    record(actor, f"{row.kind}_{status.value}", row.order_id or row.id, outcome)
    return outcome


def _refund(row: AgentRequest) -> str:
    esim.cancel_before_download(str(row.order_id))  # queues the refund job: cash back from the drawer
    return "refund_queued"


def _goodwill(row: AgentRequest) -> str:
    if row.plan_id:
        return _goodwill_topup(row)
    amount = Money(row.amount_minor, row.currency)
    at = now()
    with transaction.atomic():
        if row.line_id is None or not Line.objects.filter(id=row.line_id).update(
            credit_minor=F("credit_minor") + row.amount_minor, updated_at=at
        ):
            raise Conflict("goodwill credit needs a hosted line", code="goodwill_needs_line")
        ledger.post(cash_drawer.goodwill_credit(row.id, str(row.line_id), amount), now=at)
    return "credited"


def _goodwill_topup(row: AgentRequest) -> str:
    """A free top-up order for another network's number, paid by the goodwill expense, then delivered
    like any order (refunded back to the expense if the carrier refuses it)."""
    priced = orders.price(
        orders.QuoteRequest(row.plan_id, msisdn=row.msisdn, network_confirmed=True, channel="agent")
    )
    order_id = new_id("ord")
    paid_by = PaidBy(
        cash_drawer.GOODWILL, "goodwill", f"{cash_drawer.GOODWILL}/{order_id}", "goodwill", row.id
    )
    at = now()
    with transaction.atomic():
        order, _payment = create_paid_order(
            priced,
            paid_by,
            channel="agent",
            language=selfcare.language_of(row.msisdn),
            at=at,
            order_id=order_id,
        )
        total = priced.quote.total
        ledger.post(cash_drawer.funded(order.id, cash_drawer.GOODWILL, cash_drawer.GOODWILL, total), now=at)
        AgentSale.objects.create(
            order=order, customer_index=row.customer_index, msisdn=row.msisdn, method="goodwill",
            agent_id=row.requested_by_id, created_at=at,
        )  # fmt: skip
        AgentRequest.objects.filter(id=row.id).update(order=order)
    return "topup_queued"


def pending() -> list[AgentRequest]:
    return list(
        AgentRequest.objects.filter(status=RequestStatus.PENDING.value).select_related("requested_by")
    )


def of_agent(user_id: int) -> list[AgentRequest]:
    return list(AgentRequest.objects.filter(requested_by_id=user_id).order_by("-created_at")[:50])
