"""The payment part of the order page: what the buyer must do next (go to the bank, or scan WeChat Pay's
QR code), what became of the last attempt (declined, cancelled, the bank still confirming), and the form
that pays again with the same or another method (one service call: services.attempts)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Final

import segno
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.safestring import SafeString, mark_safe

from topup.channels import owners
from topup.channels.messages import MESSAGES
from topup.channels.web.checkout import PAYMENT_METHODS, where_to_pay
from topup.channels.web.common import GENERAL, babel_locale, errors_of
from topup.domain.errors import DomainError, NotFound
from topup.domain.fx import FX_METHODS
from topup.domain.money import Money
from topup.domain.orders import OrderStatus
from topup.services import attempts, fx, fx_text, orders
from topup.services.idempotency import make_key, scoped

WAITING: Final = frozenset({"requires_action", "processing"})  # the provider still owes us an answer
_GENERIC_REASONS: Final = frozenset({"payment_failed", "payment_canceled"})


def payment_context(
    order: Mapping[str, object], errors: Mapping[str, str] | None = None
) -> dict[str, object]:
    """What the order page shows of the current payment attempt while the order waits for its money."""
    payment = order.get("payment")
    if order.get("status") != OrderStatus.AWAITING_PAYMENT:
        return {"state": "", "waiting": False}
    if not isinstance(payment, dict):
        return {"state": "", "waiting": True}  # no attempt on record: nothing to show, the page waits
    status = str(payment["status"])
    view: dict[str, object] = {
        "state": status,
        "waiting": status in WAITING,
        "retry": status in {"failed", "requires_action"},
        "methods": _methods(order),
        "chosen_method": payment["method"],
        "idem": uuid.uuid4().hex,
        "errors": {k if k == "payment_method" else GENERAL: v for k, v in (errors or {}).items()},
        "action": f"/orders/{order['id']}/pay",
    }
    if status == "failed":
        view["declined"] = payment.get("failure_code") != "payment_canceled"
        code = str(payment.get("failure_code") or "")
        view["reason"] = str(MESSAGES[code]) if code in MESSAGES and code not in _GENERIC_REASONS else ""
    action = payment.get("next_action")
    if status == "requires_action" and isinstance(action, dict):
        view["next"] = _next_action(action)
    return view


def _methods(order: Mapping[str, object]) -> list[tuple[str, object, str]]:
    """The methods a new attempt may take, each with what its payer reads beside it: for Alipay and WeChat
    Pay the total in both currencies at this moment's rate (which that attempt freezes), or why none."""
    total = order.get("total")
    amount = Money(int(total["amount_minor"]), str(total["currency"])) if isinstance(total, dict) else None
    return [(code, name, _in_yuan(amount, code)) for code, name in PAYMENT_METHODS.items()]


def _in_yuan(amount: Money | None, method: str) -> str:
    if amount is None or method not in FX_METHODS:
        return ""
    try:
        quoted = fx.fx_for(amount, method)
    except DomainError as exc:
        return next(iter(errors_of(exc).values()))
    return fx_text.both_currencies(amount, quoted, babel_locale())


def _next_action(action: Mapping[str, object]) -> dict[str, object]:
    if action.get("kind") == "display_qr" and action.get("qr_data"):
        return {"kind": "display_qr", "qr_svg": qr_svg(str(action["qr_data"])),
                "instructions_url": action.get("instructions_url") or ""}  # fmt: skip
    return {"kind": "redirect", "url": action.get("url") or ""}


def qr_svg(data: str) -> SafeString:
    """The QR code as inline SVG that scales with its box (no size, no style: the page's CSP allows it)."""
    svg = segno.make_qr(data, error="m").svg_inline(scale=1, border=2, omitsize=True, svgclass="qr pay-qr")
    return mark_safe(svg)  # noqa: S308 - segno's own markup of the provider's data, all of it escaped by segno


def pay_again(request: HttpRequest, order_id: str) -> HttpResponse:
    """POST of the retry form: a new attempt, then to the bank's page or back to the order (its QR code)."""
    from topup.channels.web.views import render_order  # noqa: PLC0415 - the page module renders the result

    if request.method != "POST":
        return HttpResponseRedirect(f"/orders/{order_id}")
    method = request.POST.get("payment_method", "")
    caller = owners.caller(request, with_session=True)
    try:
        idem = make_key(
            scoped(f"web-order-payments:{order_id}", owners.web_caller_scope(request)),
            request.POST.get("idem", "")[:64], {"payment_method": method},
        )  # fmt: skip
        stored = attempts.retry_payment(order_id, caller, payment_method=method, idem=idem)
    except NotFound as exc:
        raise Http404(order_id) from exc
    except DomainError as exc:
        return render_order(request, order_id, errors_of(exc), status=422)
    except orders.ProviderUnavailable:
        return render_order(request, order_id, errors_of(code="payment_provider_unavailable"), status=503)
    return HttpResponseRedirect(where_to_pay(stored.body))
