"""What the order page offers besides itself: its live status (an event stream the page's script follows,
or a long poll where the browser has no EventSource),
the receipt as a PDF, and "top up again" / "buy again" (the same number and plan, at the review step).

Each proves who asks as the order page does (services/order_access): the order's token (`?token=`), the
browser's session that placed or opened it, or the line signed in on My line. Anyone else gets 404.
"""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import translation
from django.views.decorators.http import require_GET

from topup.channels import order_stream, owners
from topup.channels.web import esim_views, topup_views
from topup.domain.errors import DomainError, NotFound
from topup.services import catalogue, order_receipts, order_watch
from topup.services.order_access import Caller, owned_order


def _caller(request: HttpRequest) -> Caller:
    caller = owners.caller(request, with_session=True)
    token = request.GET.get("token", "").strip()
    return replace(caller, tokens=(*caller.tokens, token)) if token else caller


@require_GET
def status(request: HttpRequest, order_id: str) -> HttpResponse:
    """`?after=<state>`: answers once the order's state differs from it, or after at most ~20 s."""
    try:
        watched = order_watch.wait_for_change(order_id, _caller(request), request.GET.get("after", "")[:80])
    except NotFound as exc:
        raise Http404(order_id) from exc
    body = {"status": watched.status, "state": watched.state, "changed": watched.changed}
    if watched.retry_ms:
        body["retry_ms"] = watched.retry_ms
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def events(request: HttpRequest, order_id: str) -> HttpResponseBase:
    """The order's page state as Server-Sent Events (channels/order_stream): `data` is {status, state}."""
    caller = _caller(request)
    try:
        now = order_watch.state_of_owned(order_id, caller)
    except NotFound as exc:
        raise Http404(order_id) from exc
    seen = (request.headers.get("Last-Event-ID") or request.GET.get("after", ""))[:80]
    response = order_stream.stream(order_id, seen, lambda: _state_document(order_id), now)
    if response is None:
        busy = JsonResponse({"retry_ms": order_watch.BUSY_RETRY_MS}, status=503)
        busy["Retry-After"] = order_stream.busy()["Retry-After"]
        return busy
    return response


def _state_document(order_id: str) -> tuple[str, str, dict[str, object]]:
    status, state = order_watch.state_of(order_id)
    return status, state, {"status": status, "state": state}


@require_GET
def receipt(request: HttpRequest, order_id: str) -> HttpResponse:
    """The receipt (PDF) in the page's language, once the order is paid."""
    language = translation.get_language() or "en"
    try:
        pdf = order_receipts.receipt_pdf(order_id, _caller(request), language)
    except NotFound as exc:
        raise Http404(order_id) from exc
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{order_id}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def again(request: HttpRequest, order_id: str) -> HttpResponse:
    """The same plan again: for the same number (a top-up) or a new eSIM, straight to the review step.
    The number goes into the session (as when typed), never into an address."""
    try:
        order = owned_order(order_id, _caller(request))
    except NotFound as exc:
        raise Http404(order_id) from exc
    if order.msisdn:
        try:
            guess = catalogue.lookup(order.msisdn).network or ""
        except DomainError:
            guess = ""
        request.session[topup_views.SESSION_KEY] = {
            "msisdn": order.msisdn, "guess": guess, "network": order.network_id, "plan_id": order.plan_id,
        }  # fmt: skip
        return HttpResponseRedirect("/topup/review")
    request.session[esim_views.SESSION_KEY] = {"plan_id": order.plan_id}
    return HttpResponseRedirect("/esim/review")
