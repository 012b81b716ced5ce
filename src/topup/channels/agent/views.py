"""The console's customer pages: search, the customer's timeline with notes, the assisted sale, an order's
page (status, eSIM QR code, resend, refund), goodwill credit. Each turns a form into one service call."""

from __future__ import annotations

import secrets

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from topup.channels.agent.guard import CUSTOMER, actor_of, agent_view, errors_of, render
from topup.channels.web.common import money
from topup.channels.web.views import ORDER_STATUS_WORDS
from topup.db.models import AgentSale, IdentityCheck, Order
from topup.domain.agents import DocumentType, Role, identity_facts
from topup.domain.catalogue import NetworkKind
from topup.domain.errors import DomainError, InvalidInput, NotFound
from topup.domain.money import Money
from topup.services import (
    agent_customers,
    agent_receipts,
    agent_requests,
    agent_sales,
    catalogue,
    orders,
    plan_text,
    receipts,
)
from topup.services.agent_audit import record
from topup.services.agent_customers import masked

DOCUMENT_LABELS = {
    DocumentType.EID: _("Belgian eID"),
    DocumentType.PASSPORT: _("Passport"),
    DocumentType.RESIDENCE_CARD: _("Residence card"),
    DocumentType.OTHER: _("Other"),
}


@agent_view(Role.AGENT)
def home(request: HttpRequest, role: Role) -> HttpResponse:
    """The search form; a POST finds the customer (the number never goes into a URL)."""
    if request.method != "POST":
        return render(request, "agent/home.html", {})
    try:
        ref = agent_customers.find(actor_of(request), request.POST.get("q", "")[:60])
    except DomainError as exc:
        return render(
            request, "agent/home.html", {"errors": errors_of(exc), "q": request.POST.get("q", "")}, 400
        )
    request.session[CUSTOMER] = ref
    return redirect("agent-customer")


def _customer_ref(request: HttpRequest) -> str:
    ref = request.session.get(CUSTOMER, "")
    if not ref:
        raise InvalidInput("find a customer first", code="customer_required", field="q")
    return str(ref)


def _plans(ref: str) -> dict[str, list[tuple[str, str]]]:
    """Plans an agent sells: top-ups of the Belgian networks (the number's guessed network first) and new
    eSIM plans, with prices."""
    guess = catalogue.lookup(ref).network if ref.startswith("+") else None
    topups: list[tuple[str, str]] = []
    esims: list[tuple[str, str]] = []
    for plan in sorted(catalogue.plans(), key=lambda p: p.network_id != guess):
        network = catalogue.network_by_id(plan.network_id)
        target = esims if network.kind is NetworkKind.HOSTED else topups
        title = plan_text.title_of(plan, translation.get_language() or "en")
        target.append((plan.id, f"{plan_text.network_brand(network.id)} · {title} · {money(plan.price)}"))
    return {"line_plans": topups if ref.startswith("+") else esims, "esim_plans": esims}


def _customer_page(
    request: HttpRequest, errors: dict[str, str] | None = None, status: int = 200
) -> HttpResponse:
    try:
        ref = _customer_ref(request)
    except DomainError:
        return redirect("agent-home")
    actor = actor_of(request)
    found = agent_customers.balance(ref)
    context = {
        "customer": masked(ref), "is_number": ref.startswith("+"), "balance": found,
        "credit": money(found.credit) if found else "", "events": agent_customers.timeline(actor, ref),
        "errors": errors or {}, "attempt": secrets.token_urlsafe(12), **_plans(ref),
    }  # fmt: skip
    return render(request, "agent/customer.html", context, status)


@agent_view(Role.AGENT)
def customer(request: HttpRequest, role: Role) -> HttpResponse:
    return _customer_page(request)


@require_POST
@agent_view(Role.AGENT)
def note(request: HttpRequest, role: Role) -> HttpResponse:
    try:
        agent_customers.add_note(actor_of(request), _customer_ref(request), request.POST.get("text", ""))
    except DomainError as exc:
        return _customer_page(request, errors_of(exc), 400)
    return redirect("agent-customer")


def _sale_request(request: HttpRequest, ref: str) -> agent_sales.SaleRequest:
    new_esim = request.POST.get("kind") == "esim"
    identity = None
    if new_esim:
        identity = identity_facts(
            request.POST.get("document_type", ""), request.POST.get("document_last4", "")[:40],
            request.POST.get("nationality", "")[:10],
        )  # fmt: skip
    return agent_sales.SaleRequest(
        plan_id=request.POST.get("plan_id", ""), customer_ref=ref, new_esim=new_esim,
        language=translation.get_language() or "en", identity=identity,
        attempt=request.POST.get("attempt", "")[:60],
    )  # fmt: skip


@require_POST
@agent_view(Role.AGENT)
def sell(request: HttpRequest, role: Role) -> HttpResponse:
    actor = actor_of(request)
    try:
        sale = _sale_request(request, _customer_ref(request))
        if request.POST.get("pay") == "link":
            order = agent_sales.sell_by_link(actor, sale)
        else:
            counter = agent_sales.agent_counter(actor)
            order = agent_sales.sell_for_cash(actor, counter, sale)
    except DomainError as exc:
        return _customer_page(request, errors_of(exc), 400)
    except orders.ProviderUnavailable:
        return _customer_page(request, errors_of(DomainError("", code="payment_provider_unavailable")), 503)
    return redirect("agent-order", order_id=order.id)


@agent_view(Role.AGENT)
def order(request: HttpRequest, role: Role, order_id: str) -> HttpResponse:
    found = Order.objects.select_related("line").filter(id=order_id).first()
    if found is None:
        return render(
            request, "agent/home.html", {"errors": errors_of(NotFound("", code="order_not_found"))}, 404
        )
    qr = ""
    if (
        found.status == "delivered"
        and found.line
        and found.iccid
        and found.line.profile_state in {"released", "eligible"}
    ):
        qr = segno.make_qr(found.line.activation_code, mode="byte", error="m").svg_inline(scale=5, border=2)
    sale = AgentSale.objects.filter(order_id=order_id).first()
    record(actor_of(request), "view_order", order_id, "with eSIM code" if qr else "")
    identity = IdentityCheck.objects.filter(order_id=order_id).select_related("checked_by").first()
    receipt = (
        receipts.render_text(agent_receipts.counter_receipt(order_id))
        if sale and sale.method == "cash"
        else ""
    )
    context: dict[str, object] = {
        "order": found, "status_words": ORDER_STATUS_WORDS.get(found.status, found.status),
        "total": money(Money(found.total_minor, found.currency)), "qr": qr,
        "activation_code": found.line.activation_code if qr and found.line else "",
        "plan_name": plan_text.plan_title(found.plan_id, translation.get_language() or "en"), "sale": sale,
        "identity": identity,
        "document": DOCUMENT_LABELS.get(DocumentType(identity.document_type), "") if identity else "",
        "errors": {}, "receipt": receipt,
    }  # fmt: skip
    return render(request, "agent/order.html", context)


@agent_view(Role.AGENT)
def receipt_pdf(request: HttpRequest, role: Role, order_id: str) -> HttpResponse:
    """The counter receipt (or return receipt) of a cash sale, to print."""
    try:
        data = agent_receipts.counter_receipt(order_id)
    except DomainError as exc:
        return render(request, "agent/home.html", {"errors": errors_of(exc)}, 404)
    record(actor_of(request), "print_receipt", order_id, data.kind.value)
    response = HttpResponse(receipts.render_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{order_id}.pdf"'
    return response


@require_POST
@agent_view(Role.AGENT)
def refund(request: HttpRequest, role: Role, order_id: str) -> HttpResponse:
    try:
        agent_requests.request_refund(
            actor_of(request), _customer_ref(request), order_id, request.POST.get("reason", "")
        )
    except DomainError as exc:
        return _customer_page(request, errors_of(exc), 400)
    return redirect("agent-requests")


@require_POST
@agent_view(Role.AGENT)
def goodwill(request: HttpRequest, role: Role) -> HttpResponse:
    try:
        agent_requests.request_goodwill(
            actor_of(request), _customer_ref(request), request.POST.get("amount", "")[:12],
            request.POST.get("reason", ""),
        )  # fmt: skip
    except DomainError as exc:
        return _customer_page(request, errors_of(exc), 400)
    return redirect("agent-requests")


@require_POST
@agent_view(Role.AGENT)
def resend(request: HttpRequest, role: Role, order_id: str) -> HttpResponse:
    try:
        agent_sales.resend(actor_of(request), order_id, request.POST.get("kind", "receipt")[:20])
    except DomainError as exc:
        return _customer_page(request, errors_of(exc), 400)
    return redirect("agent-order", order_id=order_id)
