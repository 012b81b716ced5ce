"""An agent's assisted sale: a top-up or a new eSIM paid in cash at the counter, or by a payment link the
customer receives by SMS; and the identity check a new prepaid line needs before it is handed over.

Cash: the order is made paid (`paid_orders.create_paid_order`, provider `counter`), the cash moved into
the counter's drawer and the sale filed under the customer, all in one transaction. A link: a normal
order placed on channel `agent`, whose return link (with its order token) the SMS outbox sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from topup.clock import new_id, now
from topup.db import ledger
from topup.db.models import AgentProfile, AgentSale, IdentityCheck, JobKey, Order
from topup.domain import cash_drawer
from topup.domain.agents import IdentityFacts
from topup.domain.errors import InvalidInput
from topup.services import jobs, notifications, orders, plan_text
from topup.services.agent_audit import Actor, record
from topup.services.agent_customers import customer_index, masked
from topup.services.idempotency import make_key, scoped
from topup.services.paid_orders import PaidBy, create_paid_order
from topup.settings import CONFIG

PAY_LINK_KIND = "pay_link"
ESIM_CODE_KIND = "esim_code"


@dataclass(frozen=True, slots=True)
class SaleRequest:
    """What the agent sells: a plan for the customer's number (`new_esim`: a new eSIM line instead)."""

    plan_id: str
    customer_ref: str  # the customer found: a number (E.164) or an ICCID
    new_esim: bool
    language: str
    identity: IdentityFacts | None = None  # required for a new line
    attempt: str = ""  # the sale form's key: the same form sent twice makes one sale


def _quote_request(sale: SaleRequest) -> orders.QuoteRequest:
    if sale.new_esim:
        return orders.QuoteRequest(sale.plan_id, new_esim=True, channel="agent")
    if sale.customer_ref.startswith("+"):
        return orders.QuoteRequest(
            sale.plan_id, msisdn=sale.customer_ref, network_confirmed=True, channel="agent"
        )
    return orders.QuoteRequest(sale.plan_id, iccid=sale.customer_ref, channel="agent")


def _require_identity(sale: SaleRequest) -> IdentityFacts | None:
    if sale.new_esim and sale.identity is None:
        raise InvalidInput(
            "a new prepaid line needs an identity check first", code="identity_check_required",
            field="document_type",
        )  # fmt: skip
    return sale.identity if sale.new_esim else None


def agent_counter(actor: Actor) -> str:
    """The counter whose cash drawer this agent sells from."""
    return str(AgentProfile.objects.values_list("counter", flat=True).get(user_id=actor.signed_in_id))


def _replayed(actor: Actor, sale: SaleRequest) -> Order | None:
    """The order this sale form (its attempt key) already made, if it was sent before."""
    if not sale.attempt:
        raise InvalidInput("the sale form has no attempt key", code="invalid_request", field="attempt")
    done = AgentSale.objects.select_related("order").filter(agent_id=actor.signed_in_id, attempt=sale.attempt)
    found = done.first()
    return found.order if found else None


def sell_for_cash(actor: Actor, counter: str, sale: SaleRequest) -> Order:
    """The order paid in cash at `counter`, queued for delivery; the identity check kept with it. The same
    form sent twice (its attempt key) makes one sale: the second answer is the first order."""
    identity = _require_identity(sale)
    first = _replayed(actor, sale)
    if first is not None:
        return first
    priced = orders.price(_quote_request(sale))
    order_id = new_id("ord")
    paid_by = PaidBy(cash_drawer.PROVIDER, "cash", f"{counter}/{order_id}", "counter_cash", actor.username)
    at = now()
    try:
        with transaction.atomic():
            order, _payment = create_paid_order(
                priced, paid_by, channel="agent", language=sale.language, at=at, order_id=order_id
            )
            funded = cash_drawer.funded(order.id, cash_drawer.PROVIDER, counter, priced.quote.total)
            ledger.post(funded, now=at, order_id=order.id)
            _file_sale(actor, order, sale, method="cash", counter=counter)
            if identity is not None:
                _identity_check(actor, order, identity)
            record(actor, "sale_cash", order.id, f"{sale.plan_id} {priced.quote.total} at {counter}")
    except IntegrityError:  # the twin submission committed first
        twin = _replayed(actor, sale)
        if twin is None:
            raise
        return twin
    return order


def sell_by_link(actor: Actor, sale: SaleRequest) -> Order:
    """An order awaiting payment whose payment link goes to the customer's number by SMS (once per form)."""
    identity = _require_identity(sale)
    if not sale.customer_ref.startswith("+"):
        raise InvalidInput("a payment link is sent to a phone number", code="link_needs_number", field="q")
    first = _replayed(actor, sale)
    if first is not None:
        return first
    asked = {"plan": sale.plan_id, "esim": sale.new_esim, "customer": customer_index(sale.customer_ref)}
    idem = make_key(scoped("agent-sales", str(actor.user_id)), sale.attempt, asked)
    stored = orders.place_order(
        _quote_request(sale), payment_method="card", channel="agent", language=sale.language, idem=idem
    )
    order = Order.objects.get(id=str(stored.body["id"]))
    at = now()
    try:
        with transaction.atomic():
            sale_row = _file_sale(actor, order, sale, method="link", counter="")
            link = f"{CONFIG.public_url}/orders/{order.id}?token={stored.body.get('order_token', '')}"
            AgentSale.objects.filter(id=sale_row.id).update(pay_link=link)
            if identity is not None:
                _identity_check(actor, order, identity)
            jobs.add_one(notifications.JOB_KIND, f"{PAY_LINK_KIND}:{order.id}", at=at)  # raises for a twin
            record(actor, "sale_link", order.id, f"{sale.plan_id} link sent to {masked(sale.customer_ref)}")
    except IntegrityError:  # the twin submission filed it first
        pass
    return order


def _file_sale(actor: Actor, order: Order, sale: SaleRequest, *, method: str, counter: str) -> AgentSale:
    return AgentSale.objects.create(
        order=order, customer_index=customer_index(sale.customer_ref),
        msisdn=sale.customer_ref if sale.customer_ref.startswith("+") else "", method=method, counter=counter,
        agent_id=actor.signed_in_id, attempt=sale.attempt, created_at=now(),
    )  # fmt: skip


def _identity_check(actor: Actor, order: Order, facts: IdentityFacts) -> None:
    IdentityCheck.objects.create(
        order=order, document_type=facts.document_type.value, document_last4=facts.last4,
        nationality=facts.nationality, checked_by_id=actor.signed_in_id, checked_at=now(),
    )  # fmt: skip
    record(actor, "identity_check", order.id, f"{facts.document_type.value} ••{facts.last4[-2:]}")


def message(kind: str, order_id: str) -> tuple[str, str, str, str, str] | None:
    """(language, number, e-mail, subject, text) of a message an agent sends: the payment link of an
    order, or a new eSIM's activation code. Written in the order's language; None without a number."""
    sale = AgentSale.objects.select_related("order", "order__line").filter(order_id=order_id).first()
    if sale is None or not sale.msisdn:
        return None
    order = sale.order
    with translation.override(order.language):
        if kind == PAY_LINK_KIND and sale.method == "link":
            subject = _("Your payment link")
            text = _("Pay your top-up (order %(order)s) here: %(link)s") % {
                "order": order.id,
                "link": sale.pay_link,
            }
        elif kind == ESIM_CODE_KIND and order.line is not None:
            values = {
                "plan": plan_text.plan_title(order.plan_id, order.language),
                "code": order.line.activation_code,
            }
            subject = _("Your eSIM")
            text = (
                _("Your eSIM (%(plan)s): add it in your phone's settings with this activation code: %(code)s")
                % values
            )
        else:
            return None
        return order.language, sale.msisdn, "", str(subject), str(text)


def resend(actor: Actor, order_id: str, kind: str) -> None:
    """Queue a delivered order's receipt, or a new eSIM's activation code, once more (SMS and e-mail
    through the outbox; each resend is its own subject `<kind>:<order>#<n>`, so it goes out again)."""
    order = Order.objects.select_related("line").filter(id=order_id, status="delivered").first()
    if order is None or (kind == ESIM_CODE_KIND and not (order.line and order.iccid)):
        raise InvalidInput("only a delivered order can be sent again", code="no_receipt", field="order_id")
    if kind not in ("receipt", ESIM_CODE_KIND):
        raise InvalidInput("send a receipt or an eSIM code", code="invalid_resend", field="kind")
    prefix = f"{kind}:{order_id}"
    count = JobKey.objects.filter(kind=notifications.JOB_KIND, subject_id__startswith=prefix).count()
    at = now()
    jobs.add_one(notifications.JOB_KIND, f"{prefix}#{count + 1}", at=at)
    record(actor, f"resend_{kind}", order_id)
