"""The kiosk's screens: language, number (on-screen keypad, network guessed), plans of that network, how to
pay; and the enrolment of the kiosk's browser. Each screen turns its input into one service call."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from topup.channels.kiosk import access
from topup.channels.kiosk.access import kiosk_page
from topup.channels.web.checkout import plan_card
from topup.channels.web.common import errors_of, money
from topup.clock import new_id, now
from topup.domain.catalogue import NetworkKind
from topup.domain.errors import DomainError
from topup.domain.kiosk import cash_payable
from topup.domain.money import Money
from topup.services import catalogue, kiosk_enrolment

FLAGS = {"nl": "nl", "fr": "fr", "de": "de", "en": "gb", "zh-hans": "cn"}


@require_GET
def enrol(request: HttpRequest) -> HttpResponse:
    """Staff open `/kiosk/enrol?code=…` once on the kiosk: the code is spent, the browser gets its cookie."""
    try:
        enrolment_id = kiosk_enrolment.use_code(request.GET.get("code", ""), at=now())
    except DomainError as exc:
        return render(request, "kiosk/not_enrolled.html", {"errors": errors_of(exc)}, status=403)
    return access.enrolment_cookie(HttpResponseRedirect("/kiosk/"), enrolment_id)


@require_GET
@kiosk_page
def start(request: HttpRequest, terminal_id: str) -> HttpResponse:
    """The language screen, where every customer starts (and the idle timeout returns to)."""
    names = dict(access.context(request)["languages"])  # type: ignore[call-overload]
    languages = [{"code": code, "name": names[code], "flag": FLAGS[code]} for code in access.LANGUAGES]
    return render(request, "kiosk/start.html", access.context(request, choices=languages, start=True))


@require_POST
@kiosk_page
def language(request: HttpRequest, terminal_id: str) -> HttpResponse:
    chosen = request.POST.get("language", "")
    access.forget(request)  # a new customer starts here: nothing of the last one is kept
    access.save(request, language=chosen if chosen in access.LANGUAGES else "en")
    return HttpResponseRedirect("/kiosk/number")


@require_POST
def reset(request: HttpRequest) -> HttpResponse:
    """The idle timeout and the "start again" button: any open cash session is cancelled, the session is
    flushed on the server."""
    terminal_id = access.terminal_of(request)
    if terminal_id is None:
        return access.not_enrolled(request)
    from topup.channels.kiosk.cash_views import cancel_open_cash  # noqa: PLC0415

    cancel_open_cash(request, terminal_id)
    access.forget(request)
    return HttpResponseRedirect("/kiosk/")


@require_http_methods(["GET", "POST"])
@kiosk_page
def number(request: HttpRequest, terminal_id: str) -> HttpResponse:
    state = access.state(request)
    if "language" not in state:
        return HttpResponseRedirect("/kiosk/")
    if request.method == "POST":
        typed = request.POST.get("msisdn", "")
        try:
            found = catalogue.lookup(typed)
        except DomainError as exc:
            context = access.context(request, typed=typed, errors=errors_of(exc))
            return render(request, "kiosk/number.html", context, status=422)
        guess = found.network or ""
        access.save(request, msisdn=found.msisdn, guess=guess, network=guess, plan_id="")
        return HttpResponseRedirect("/kiosk/plans")
    return render(request, "kiosk/number.html", access.context(request, typed=""))


@require_http_methods(["GET", "POST"])
@kiosk_page
def plans(request: HttpRequest, terminal_id: str) -> HttpResponse:
    state = access.state(request)
    if not state.get("msisdn"):
        return HttpResponseRedirect("/kiosk/")
    networks = [n for n in catalogue.networks() if n.kind is NetworkKind.EXTERNAL]
    if request.method == "POST":
        if "network" in request.POST and request.POST["network"] in {n.id for n in networks}:
            access.save(request, network=request.POST["network"])
            return HttpResponseRedirect("/kiosk/plans")
        plan_id = request.POST.get("plan_id", "")
        if plan_id in {p.id for p in catalogue.plans(state.get("network") or None)}:
            access.save(request, plan_id=plan_id)
            return HttpResponseRedirect("/kiosk/pay")
    shown = catalogue.plans(state["network"]) if state.get("network") else []
    context = access.context(
        request, state=state, networks=networks, plans=[plan_card(p) for p in shown if p.active],
        network_name=next((n.name for n in networks if n.id == state.get("network")), ""),
    )  # fmt: skip
    return render(request, "kiosk/plans.html", context)


@require_GET
@kiosk_page
def pay(request: HttpRequest, terminal_id: str) -> HttpResponse:
    state = access.state(request)
    if not state.get("plan_id"):
        return HttpResponseRedirect("/kiosk/plans" if state.get("msisdn") else "/kiosk/")
    plan, network = catalogue.plan_and_network(state["plan_id"])
    access.save(request, attempt=new_id("katt"))  # one order per press of Card, however often it is tapped
    context = access.context(
        request, state=state, plan=plan_card(plan), network_name=network.name,
        price=money(Money(plan.price.amount_minor, plan.price.currency)),
        cash=cash_payable(plan.price.amount_minor),
    )  # fmt: skip
    return render(request, "kiosk/pay.html", context)
