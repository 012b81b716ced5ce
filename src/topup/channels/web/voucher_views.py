"""Redeem a voucher PIN on the website (the page printed on shop receipts): the number, the PIN, done.

The same service and limits as SMS, USSD, IVR and the API (`services.vouchers.redeem`): the caller is this
client's address and the number typed. Each rendering of the form carries its own key, so a double click or a
resent form replays the first answer instead of failing with "already used".
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from topup.channels import owners
from topup.channels.clients import client_ip
from topup.channels.web.common import GENERAL, errors_of, page
from topup.domain.errors import Conflict, DomainError
from topup.services import vouchers
from topup.services.idempotency import StoredResponse, make_key, replay, scoped

TEMPLATE = "topup/voucher.html"


@require_http_methods(["GET", "POST"])
def redeem(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form(request, typed="", errors={})
    msisdn = request.POST.get("msisdn", "")[:40]
    try:
        stored = _redeemed(request, msisdn, request.POST.get("pin", "")[:40])
    except DomainError as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _form(request, typed=msisdn, errors=_errors(exc), status=status)
    order_id = str(stored.body["id"])
    owners.remember_order(request, order_id)  # this browser may follow the top-up on the order page
    return HttpResponseRedirect(f"/orders/{order_id}")


def _redeemed(request: HttpRequest, msisdn: str, pin: str) -> StoredResponse:
    """The first answer to this form (key and fields), or the PIN redeemed now and its answer kept."""
    scope = scoped("web-vouchers", owners.web_caller_scope(request))
    idem = make_key(scope, request.POST.get("idem", "")[:64], {"msisdn": msisdn, "pin": pin})
    stored = replay(idem)  # the same form sent again with other fields: idempotency_conflict
    if stored is not None:
        return stored
    callers = [f"ip:{client_ip(request) or 'unknown'}", f"line:{msisdn.strip() or 'none'}"]
    try:
        order = vouchers.redeem(
            pin, msisdn=msisdn, channel="web", caller_keys=callers, language=request.LANGUAGE_CODE, idem=idem
        )
    except Conflict:
        stored = replay(idem)  # a concurrent resend of this very form: the first one's answer
        if stored is None:
            raise
        return stored
    return StoredResponse(201, order)  # stored with the redemption


def _errors(exc: DomainError) -> dict[str, str]:
    """The message for the customer; a form sent again with other fields (or none) asks to fill it anew,
    rather than talking about the API's Idempotency-Key."""
    if exc.code.startswith("idempotency_"):
        return {
            GENERAL: pgettext(
                "voucher page", "This form was already sent. Please enter the number and PIN again."
            )
        }
    return errors_of(exc)


def _form(request: HttpRequest, *, typed: str, errors: dict[str, str], status: int = 200) -> HttpResponse:
    context = {"typed": typed, "errors": errors, "idem": uuid.uuid4().hex}
    return page(request, TEMPLATE, context, status)
