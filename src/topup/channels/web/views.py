"""The pages a customer lands on: the home page and the live status of an order after paying.

Each view makes one service call and renders it. What lives here is presentation only: the customer's
words for order and eSIM states, money formatting, and the `?lang=xx` language switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from topup.channels import owners
from topup.channels.messages import message_for
from topup.channels.web import common, outcome
from topup.channels.web.common import remember_language as _remember_language
from topup.channels.web.common import requested_language as _requested_language
from topup.channels.web.payment_views import payment_context
from topup.domain.errors import NotFound
from topup.domain.fx import FxQuote
from topup.domain.money import Money
from topup.domain.orders import OrderStatus, is_terminal
from topup.domain.promotions import AppliedPromotion
from topup.services import (
    catalogue,
    fx_text,
    locale_text,
    orders,
    payment_return,
    plan_text,
    promotion_text,
)
from topup.services.order_access import Caller, owned_order
from topup.services.plan_text import network_brand

ORDER_STATUS_WORDS: Final[Mapping[str, Promise]] = {
    "created": _("Order received"),
    "awaiting_payment": _("Waiting for payment"),
    "paid": _("Paid"),
    "delivering": _("Sending to your phone/operator"),
    "delivered": _("Done"),
    "delivery_failed": _("Could not be delivered"),
    "refunded": _("Refunded"),
    "expired": _("Expired"),
    "cancelled": _("Cancelled"),
}

# SGP.22 profile states as the SM-DP+ reports them (see services/esim.PROGRESS_STATES).
ESIM_STATE_WORDS: Final[Mapping[str, Promise]] = {
    "released": _("Ready to install"),
    "eligible": _("Download started"),
    "downloaded": _("Downloaded, installing"),
    "installed": _("Installed"),
    "enabled": _("Installed"),
    "disabled": _("Turned off on the phone"),
    "deleted": _("Deleted from the phone"),
    "error": _("Problem: please contact us"),
    "cancelled": _("Cancelled before installation"),
}
# Once the profile is in one of these states, waiting longer on the page changes nothing.
_ESIM_SETTLED_STATES: Final = frozenset({"installed", "enabled", "disabled", "deleted", "error", "cancelled"})
# The QR code and activation code are shown only for a delivered order whose profile can still be on a
# phone: a cancelled profile goes back to the SM-DP+ pool and its code must not be installed by anyone.
_ESIM_WITHOUT_CODES: Final = frozenset({"cancelled", "deleted"})

REFRESH_S: Final = 3
# What a provider adds to our return address: Stripe's redirect (PaymentIntent), its Checkout's success URL.
_RETURN_KEYS: Final = ("payment_intent", "redirect_status", "session_id")


def home(request: HttpRequest) -> HttpResponse:
    language = _requested_language(request)
    brands = [network_brand(network.id) for network in catalogue.networks()]
    response = render(request, "topup/home.html", {"networks": brands})
    return _remember_language(response, language)


def order_status(request: HttpRequest, order_id: str) -> HttpResponse:
    """The order for this browser (it placed the order, came back from the checkout, or is signed in on
    My line for its number); 404 for anyone else, as for an order that does not exist."""
    if "token" in request.GET:
        return _from_return_link(request, order_id)
    return render_order(request, order_id, returning=any(key in request.GET for key in _RETURN_KEYS))


def render_order(
    request: HttpRequest,
    order_id: str,
    errors: Mapping[str, str] | None = None,
    *,
    status: int = 200,
    returning: bool = False,
) -> HttpResponse:
    """The order page (with the retry form's errors, if any); 404 for a caller who may not see it. A buyer
    `returning` from the provider's page while the order still waits has the provider asked at once."""
    language = _requested_language(request)
    caller = owners.caller(request, with_session=True)
    try:
        order = orders.get_order(order_id, caller)
        if returning and order["status"] == OrderStatus.AWAITING_PAYMENT:
            payment_return.check_on_return(order_id)
            order = orders.get_order(order_id, caller)
    except NotFound as exc:
        raise Http404(order_id) from exc
    context = {**_order_context(order, errors), **outcome.order_extras(request, order)}
    response = render(request, "topup/order.html", context, status=status)
    return _remember_language(response, language)


def _from_return_link(request: HttpRequest, order_id: str) -> HttpResponse:
    """The checkout's return link carries the order's token: keep the order in this browser's session and
    redirect to the clean address, so the token stays neither in the address bar nor in a Referer."""
    try:
        owned_order(order_id, Caller(tokens=(request.GET["token"],)))
    except NotFound as exc:
        raise Http404(order_id) from exc
    owners.remember_order(request, order_id)
    rest = request.GET.copy()
    del rest["token"]
    query = rest.urlencode()
    return HttpResponseRedirect(f"/orders/{order_id}" + (f"?{query}" if query else ""))


def _order_context(order: Mapping[str, object], errors: Mapping[str, str] | None = None) -> dict[str, object]:
    status = str(order["status"])
    esim = order.get("esim")
    esim_view: dict[str, object] | None = None
    if isinstance(esim, dict):
        state = str(esim["state"])
        esim_view = {
            **esim,
            "state_words": _words(ESIM_STATE_WORDS, state),
            "qr_svg_path": f"/api/v1/esim/orders/{order['id']}/qr.svg",
            "settled": state in _ESIM_SETTLED_STATES,
            "show_codes": status == OrderStatus.DELIVERED and state not in _ESIM_WITHOUT_CODES,
        }
    settled = is_terminal(OrderStatus(status))
    waiting_for_install = (
        status == OrderStatus.DELIVERED and esim_view is not None and not esim_view["settled"]
    )
    history = order.get("history")
    pay = payment_context(order, errors)
    # Refresh only while an answer is still expected: not for a declined payment waiting for the buyer.
    expecting = not settled and (status != OrderStatus.AWAITING_PAYMENT or bool(pay["waiting"]))
    return {
        "order": order,
        # The plan's title and the network's brand in the page's language, never their ids.
        "plan_title": plan_text.plan_title(str(order["plan_id"]), translation.get_language() or "en"),
        "network_name": plan_text.network_brand(str(order["network"])),
        "amount": _display_money(order["total"]),
        "amount_fx": _in_yuan(order),
        "promotions": _promotions(order),
        "status_words": _words(ORDER_STATUS_WORDS, status),
        "esim": esim_view,
        "pay": pay,
        "settled": settled,
        "refresh_s": REFRESH_S if (expecting and not errors) or waiting_for_install else None,
        # The order is finished; only the eSIM's install state may still change, and the page says so.
        "follows_install_only": waiting_for_install and settled,
        "history": [_history_step(step) for step in history] if isinstance(history, list) else [],
    }


def _in_yuan(order: Mapping[str, object]) -> str:
    """Both currencies, the frozen rate, its source and date, for an order quoted in yuan; else ""."""
    quote = order.get("quote")
    fx = quote.get("fx") if isinstance(quote, dict) else None
    total = order["total"]
    if not fx or not isinstance(total, dict):
        return ""
    amount = Money(int(total["amount_minor"]), str(total["currency"]))
    return fx_text.both_currencies(amount, FxQuote.from_dict(fx), common.babel_locale())


def _promotions(order: Mapping[str, object]) -> list[promotion_text.PromotionLine]:
    """What the frozen quote's promotions saved or added, in the page's language."""
    quote = order.get("quote")
    frozen = quote.get("promotions") if isinstance(quote, dict) else None
    if not isinstance(frozen, list) or not frozen:
        return []
    applied = [AppliedPromotion.from_dict(item) for item in frozen]
    return promotion_text.lines(applied, translation.get_language() or "en", common.money)


def _history_step(step: Mapping[str, object]) -> dict[str, object]:
    code = str(step.get("code") or "")
    at = datetime.fromisoformat(str(step["at"]))
    return {
        "words": _words(ORDER_STATUS_WORDS, str(step["status"])),
        "at": at,
        "when": locale_text.moment(at, translation.get_language()),  # as every page and message writes it
        "reason": message_for(code) if code else "",
    }


def _words(words: Mapping[str, Promise], key: str) -> Promise | str:
    return words.get(key, key)


def _display_money(value: object) -> str:
    """The amount as the reader's locale writes it ("9,99 €" in French, "€ 9,99" in Dutch)."""
    if not isinstance(value, dict):
        raise TypeError("money must be a {amount_minor, currency} mapping")
    return common.money(Money(int(value["amount_minor"]), str(value["currency"])))
