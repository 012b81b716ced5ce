"""Paying cash at the kiosk: open a cash session, show what is inserted (the page polls its status), cancel,
and the receipt. The acceptor's signed events arrive at `events` (the kiosk terminal's HMAC signature)."""

from __future__ import annotations

import contextlib

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from topup.channels.kiosk import access
from topup.channels.kiosk.access import kiosk_page
from topup.channels.kiosk.device_auth import kiosk_terminal
from topup.channels.messages import domain_error_body, error_body, message_for
from topup.channels.terminal_auth import TerminalRefused
from topup.channels.web.checkout import plan_card
from topup.channels.web.common import errors_of, money
from topup.db.models import KioskCashSession
from topup.domain.errors import DomainError, NotFound
from topup.domain.kiosk import CashStatus
from topup.domain.money import Money
from topup.jsonbody import JsonBodyError, read_object
from topup.ports import PortUnavailable, ProviderRequestError
from topup.services import catalogue, kiosk_card, kiosk_cash, kiosk_sales, receipts

CASH = "cash_session"


def cancel_open_cash(request: HttpRequest, terminal_id: str) -> None:
    """The customer left (idle timeout, start again): an open cash session hands its escrow back, and a
    card reader still waiting for their card stops waiting."""
    chosen = access.state(request)
    if chosen.get(CASH):
        with contextlib.suppress(DomainError):  # already paid or unknown: nothing to hand back
            kiosk_cash.cancel(terminal_id, chosen[CASH])
    if chosen.get("card_order"):
        with contextlib.suppress(DomainError, PortUnavailable, ProviderRequestError):
            if kiosk_card.state(chosen["card_order"]) is kiosk_card.CardState.WAITING:
                kiosk_card.cancel(terminal_id)


@require_POST
@kiosk_page
def start_cash(request: HttpRequest, terminal_id: str) -> HttpResponse:
    purchase = access.purchase(request)
    if purchase is None:
        return HttpResponseRedirect("/kiosk/")
    try:
        session = kiosk_cash.start(terminal_id, purchase)
    except (DomainError, PortUnavailable) as exc:
        return problem(request, exc.code)
    access.save(request, **{CASH: session.id})
    return HttpResponseRedirect("/kiosk/cash")


def problem(request: HttpRequest, code: str) -> HttpResponse:
    """The payment could not start: why, in the customer's language, and the way back to paying."""
    context = access.context(request, errors=errors_of(code=code))
    return render(request, "kiosk/problem.html", context, status=409)


def _session_or_none(request: HttpRequest, terminal_id: str) -> KioskCashSession | None:
    session_id = access.state(request).get(CASH, "")
    try:
        return kiosk_cash.session_of(terminal_id, session_id) if session_id else None
    except NotFound:
        return None


@require_GET
@kiosk_page
def cash(request: HttpRequest, terminal_id: str) -> HttpResponse:
    session = _session_or_none(request, terminal_id)
    if session is None:
        return HttpResponseRedirect("/kiosk/")
    if session.status == CashStatus.PAID:
        return HttpResponseRedirect("/kiosk/receipt")
    context = access.context(
        request, session=session, plan=plan_card(catalogue.plan_and_network(session.plan_id)[0]),
        due=money(Money(session.price_minor, session.currency)),
        inserted=money(Money(session.inserted_minor, session.currency)),
    )  # fmt: skip
    return render(request, "kiosk/cash.html", context)


@require_GET
def cash_status(request: HttpRequest) -> JsonResponse:
    """What the cash page polls: inserted so far, and whether the sale is made (no touch: polling is not
    the customer). An expired or foreign session answers `gone`, and the page returns to the start."""
    terminal_id = access.terminal_of(request)
    session = _session_or_none(request, terminal_id) if terminal_id else None
    if session is None:
        return JsonResponse({"status": "gone"}, status=404)
    language = access.state(request).get("language", "en")
    with translation.override(language):
        inserted = money(Money(session.inserted_minor, session.currency))
        refused = session.events.filter(accepted=False).order_by("-id").first()
        notice = str(message_for(refused.code)) if refused is not None else ""
    return JsonResponse({
        "status": session.status, "inserted": inserted, "inserted_minor": session.inserted_minor,
        "notice": notice, "refused": refused.id if refused is not None else 0,
    })  # fmt: skip


@require_POST
@kiosk_page
def cancel(request: HttpRequest, terminal_id: str) -> HttpResponse:
    session = _session_or_none(request, terminal_id)
    if session is None:
        return HttpResponseRedirect("/kiosk/")
    try:
        session = kiosk_cash.cancel(terminal_id, session.id)
    except DomainError:
        return HttpResponseRedirect("/kiosk/receipt")
    returned = money(Money(session.inserted_minor, session.currency))
    return render(request, "kiosk/cancelled.html", access.context(request, returned=returned))


@require_GET
@kiosk_page
def receipt(request: HttpRequest, terminal_id: str) -> HttpResponse:
    session = _session_or_none(request, terminal_id)
    if session is None or session.status != CashStatus.PAID:
        return HttpResponseRedirect("/kiosk/")
    text = receipts.render_text(kiosk_sales.receipt_data(session))
    return render(request, "kiosk/receipt.html", access.context(request, receipt=text))


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> JsonResponse:
    """A note or coin the acceptor took into escrow, signed by the kiosk terminal: stacked or handed back."""
    try:
        terminal_id = kiosk_terminal(request)
    except TerminalRefused as exc:
        return JsonResponse(error_body(exc.code), status=401)
    try:
        body = read_object(request.body, max_bytes=4_096)
    except JsonBodyError as exc:
        return JsonResponse(error_body(exc.code), status=400)
    event_id, session_id, amount = body.get("event_id"), body.get("session_id"), body.get("amount_minor")
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 64 and isinstance(session_id, str)) or not (
        isinstance(amount, int) and not isinstance(amount, bool) and 0 < amount < 1_000_000
    ):
        return JsonResponse(error_body("invalid_cash_event"), status=422)
    try:
        answer = kiosk_cash.record_event(terminal_id, session_id, event_id, amount)
    except DomainError as exc:
        return JsonResponse(domain_error_body(exc), status=404 if isinstance(exc, NotFound) else 409)
    return JsonResponse(answer)
