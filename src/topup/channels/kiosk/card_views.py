"""Paying by card at the kiosk: the order goes to the reader, the page waits (polling the order) for the
provider's webhook, then prints; a declined card says so and offers to try again or to pay cash."""

from __future__ import annotations

import contextlib

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from topup.channels.kiosk import access
from topup.channels.kiosk.access import kiosk_page
from topup.channels.kiosk.cash_views import problem
from topup.clock import new_id
from topup.domain.errors import DomainError
from topup.domain.kiosk import cash_payable
from topup.ports import PortUnavailable, ProviderRequestError
from topup.services import catalogue, kiosk_card, kiosk_sales, receipts
from topup.services.orders import ProviderUnavailable

ORDER = "card_order"


@require_POST
@kiosk_page
def start(request: HttpRequest, terminal_id: str) -> HttpResponse:
    purchase = access.purchase(request)
    if purchase is None:
        return HttpResponseRedirect("/kiosk/")
    attempt = access.state(request).get("attempt") or new_id("katt")
    try:
        order_id = kiosk_card.start(terminal_id, purchase, attempt)
    except DomainError as exc:
        return problem(request, exc.code)
    except (PortUnavailable, ProviderRequestError, ProviderUnavailable):
        return problem(request, "card_reader_unavailable")
    access.save(request, **{ORDER: order_id, "attempt": new_id("katt"), "printed": ""})
    return HttpResponseRedirect("/kiosk/card")


@require_GET
@kiosk_page
def waiting(request: HttpRequest, terminal_id: str) -> HttpResponse:
    if not access.state(request).get(ORDER):
        return HttpResponseRedirect("/kiosk/")
    return render(request, "kiosk/card.html", access.context(request))


@require_GET
def status(request: HttpRequest) -> JsonResponse:
    """What the card page polls (not a touch): waiting, paid or declined."""
    order_id = access.state(request).get(ORDER, "") if access.terminal_of(request) else ""
    try:
        state = kiosk_card.state(order_id) if order_id else None
    except DomainError:
        state = None
    if state is None:
        return JsonResponse({"status": "gone"}, status=404)
    return JsonResponse({"status": state.value})


@require_GET
@kiosk_page
def declined(request: HttpRequest, terminal_id: str) -> HttpResponse:
    purchase = access.purchase(request)
    if purchase is None:
        return HttpResponseRedirect("/kiosk/")
    cash = cash_payable(catalogue.plan_and_network(purchase.plan_id)[0].price.amount_minor)
    return render(request, "kiosk/declined.html", access.context(request, cash=cash))


@require_POST
@kiosk_page
def cancel(request: HttpRequest, terminal_id: str) -> HttpResponse:
    with contextlib.suppress(PortUnavailable, ProviderRequestError):  # the reader times out by itself
        kiosk_card.cancel(terminal_id)
    access.save(request, **{ORDER: ""})
    return HttpResponseRedirect("/kiosk/pay")


@require_GET
@kiosk_page
def receipt(request: HttpRequest, terminal_id: str) -> HttpResponse:
    """The paid order's receipt, printed the first time this page is shown."""
    order_id = access.state(request).get(ORDER, "")
    if not order_id or kiosk_card.state(order_id) is not kiosk_card.CardState.PAID:
        return HttpResponseRedirect("/kiosk/")
    data = kiosk_card.receipt_data(terminal_id, order_id)
    if access.state(request).get("printed") != order_id:
        access.save(request, printed=order_id)
        text = kiosk_sales.print_receipt(data)
    else:
        text = receipts.render_text(data)
    return render(request, "kiosk/receipt.html", access.context(request, receipt=text))
