"""My line: sign in with a one-time code sent by SMS, then see credit, bundles, orders and the language
of our messages. The bearer token lives in the session only, never in a URL."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST

from topup.channels import owners
from topup.channels import phone_words as words
from topup.channels.clients import client_ip
from topup.channels.web.common import day, errors_of, money, page, remember_language, requested_language
from topup.channels.web.views import ORDER_STATUS_WORDS
from topup.db.models import Order
from topup.db.router import replica_reads
from topup.domain.commands import LANGUAGES
from topup.domain.errors import DomainError
from topup.domain.money import Money
from topup.ports import PortUnavailable
from topup.services import otp, reminders, selfcare

SIGNED_IN_KEY = owners.SESSION_LINE_TOKEN
NUMBER_KEY = "web_my_number"
ORDERS_SHOWN = 20


def _signed_in_line(request: HttpRequest) -> str | None:
    token = request.session.get(SIGNED_IN_KEY)
    return otp.token_line(token) if isinstance(token, str) else None


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """GET: the line's page when signed in, else the number form; POST: send a code to that number."""
    line = _signed_in_line(request) if request.method == "GET" else None
    if line is not None:
        requested_language(request)  # before the amounts and dates are worded, not only the template
        with replica_reads():  # after this customer's own writes only (topup.db.router: read-your-writes)
            context = _line_context(line)
        return page(request, "topup/my_line.html", context)
    if request.method == "POST":
        typed = request.POST.get("msisdn", "")
        try:
            otp.send_code(typed, client_ip(request), language=translation.get_language())  # the page's
        except DomainError as exc:
            return page(request, "topup/my_sign_in.html", {"typed": typed, "errors": errors_of(exc)}, 422)
        except PortUnavailable as exc:
            context = {"typed": typed, "errors": errors_of(code=exc.code)}
            return page(request, "topup/my_sign_in.html", context, 503)
        request.session[NUMBER_KEY] = typed
        return HttpResponseRedirect("/my/code")
    return page(request, "topup/my_sign_in.html", {"typed": ""})


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    typed = request.session.get(NUMBER_KEY)
    if not isinstance(typed, str):
        return HttpResponseRedirect("/my")
    if request.method == "POST":
        try:
            token = otp.verify(typed, request.POST.get("code", ""), client_ip(request))
        except DomainError as exc:
            return page(request, "topup/my_code.html", {"errors": errors_of(exc, field="code")}, 422)
        request.session.cycle_key()  # a new session id once signed in
        request.session[SIGNED_IN_KEY] = token
        del request.session[NUMBER_KEY]
        return HttpResponseRedirect("/my")
    return page(request, "topup/my_code.html", {})


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    line = _signed_in_line(request)
    if line is None:
        return HttpResponseRedirect("/my")
    try:
        chosen = selfcare.set_language(line, request.POST.get("language", ""))
    except DomainError:
        return HttpResponseRedirect("/my")
    translation.activate(chosen)
    return remember_language(HttpResponseRedirect("/my"), chosen)


@require_POST
def reminders_switch(request: HttpRequest) -> HttpResponse:
    """Bundle reminders on or off, for the signed-in line only."""
    line = _signed_in_line(request)
    if line is None:
        return HttpResponseRedirect("/my")
    wanted = request.POST.get("reminders") == "on"
    reminders.set_reminders(line, on=wanted, language=translation.get_language())
    return HttpResponseRedirect("/my")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponseRedirect("/my")


def _line_context(line: str) -> dict[str, object]:
    context: dict[str, object] = {
        "line": line,
        "language": selfcare.language_of(line, fallback=translation.get_language()),
        "message_languages": [
            (code, translation.get_language_info(code)["name_local"]) for code in LANGUAGES
        ],
        "orders": _orders(line),
        "reminded": reminders.reminded(line),  # else no reminder card: the operator reminds its lines
        "reminders_on": reminders.reminders_on([line]),
    }
    try:
        found = selfcare.balance(line)
    except (DomainError, PortUnavailable) as exc:
        context["errors"] = errors_of(code=getattr(exc, "code", "carrier_unavailable"))
        return context
    context["balance"] = {
        "network": found.network_name,
        "credit": money(found.credit),
        "valid_until": day(found.valid_until),
        "bundles": [
            {
                "name": b.plan_name,
                "remaining_mb": b.remaining_mb,
                "size_mb": b.total_mb or b.remaining_mb,
                "left": words.data_left(b),
                "unlimited": b.unlimited,
                "expires": day(b.expires_at),
            }
            for b in found.bundles
        ],
    }
    return context


def _orders(line: str) -> list[dict[str, object]]:
    # A read the REST API makes the same way (channels/api/auth_routes.my_orders); a selfcare service
    # for "orders of a line" would let both channels share it.
    found = Order.objects.filter(Q(msisdn=line) | Q(line__msisdn=line)).order_by("-created_at")
    return [
        {
            "id": order.id,
            "when": day(order.created_at.date()),
            "total": money(Money(order.total_minor, order.currency)),
            "status": ORDER_STATUS_WORDS.get(order.status, order.status),
        }
        for order in found[:ORDERS_SHOWN]
    ]
