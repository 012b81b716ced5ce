"""Redeem a voucher PIN on the website (the page printed on shop receipts): the number, the PIN, done.

The same service and limits as SMS, USSD, IVR and the API (`services.vouchers.redeem`): the caller is this
client's address and the number typed. Each rendering of the form carries its own key, so a double click or a
resent form replays the first answer instead of failing with "already used".
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from topup.channels import owners
from topup.channels.clients import client_ip
from topup.channels.web.common import errors_of, page
from topup.clock import now
from topup.domain.errors import Conflict, DomainError
from topup.services import vouchers
from topup.services.idempotency import make_key, remember, replay, scoped

TEMPLATE = "topup/voucher.html"


@require_http_methods(["GET", "POST"])
def redeem(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form(request, typed="", errors={})
    msisdn = request.POST.get("msisdn", "")[:40]
    pin = request.POST.get("pin", "")[:40]
    fields = {"msisdn": msisdn, "pin": pin}
    idem = make_key(
        scoped("web-vouchers", owners.web_caller_scope(request)), request.POST.get("idem", "")[:64], fields
    )
    stored = replay(idem)
    try:
        if stored is None:
            callers = [f"ip:{client_ip(request) or 'unknown'}", f"line:{msisdn.strip() or 'none'}"]
            order = vouchers.redeem(
                pin, msisdn=msisdn, channel="web", caller_keys=callers, language=request.LANGUAGE_CODE
            )
            stored = remember(idem, 201, order, now())
    except Conflict as exc:
        stored = replay(idem)  # a concurrent resend of this form: the first one's answer
        if stored is None:
            return _form(request, typed=msisdn, errors=errors_of(exc), status=409)
    except DomainError as exc:
        return _form(request, typed=msisdn, errors=errors_of(exc), status=422)
    order_id = str(stored.body["id"])
    owners.remember_order(request, order_id)  # this browser may follow the top-up on the order page
    return HttpResponseRedirect(f"/orders/{order_id}")


def _form(request: HttpRequest, *, typed: str, errors: dict[str, str], status: int = 200) -> HttpResponse:
    context = {"typed": typed, "errors": errors, "idem": uuid.uuid4().hex}
    return page(request, TEMPLATE, context, status)
