"""What the top-up and eSIM journeys share: plan cards with their filters, the review page with its
quote, and placing the order from it (idempotent per page render) before going to the payment page."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Final

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from topup.channels import owners
from topup.channels.web import autotopup_views
from topup.channels.web.common import GENERAL, babel_locale, errors_of, money, page, percent
from topup.domain.catalogue import Plan, PlanKind, plan_period
from topup.domain.errors import DomainError
from topup.domain.fx import FX_METHODS
from topup.services import catalogue, fx_text, orders, plan_text, promotion_text
from topup.services.idempotency import make_key, scoped
from topup.services.order_receipts import METHOD_NAMES

KINDS: Final[Mapping[str, Promise]] = {"credit": _("Credit"), "data": _("Data")}
PERIODS: Final[Mapping[str, Promise]] = {
    "day": _("Day"),
    "week": _("Week"),
    "month": _("Month"),
    "unlimited": _("Unlimited"),
}
# The methods a buyer picks online, named as their receipts name them (services/order_receipts).
PAYMENT_METHODS: Final[Mapping[str, Promise]] = {
    method: METHOD_NAMES[method] for method in ("card", "bancontact", "alipay", "wechat_pay")
}


_REVIEW_FIELDS: Final = frozenset({"payment_method", "eid", "promo_code", "email"})
PROMO_FIELD: Final = "promo_code"
PROMO_CODE_MAX: Final = 40  # longer than any code a campaign prints; the engine decides what is valid
MAX_EMAIL_FIELD: Final = 320  # more than parse_email accepts, so a long address is refused for what it is


def _on_review(errors: Mapping[str, str]) -> dict[str, str]:
    return {key if key in _REVIEW_FIELDS else GENERAL: text for key, text in errors.items()}


def filter_plans(plans: Sequence[Plan], kind: str, period: str) -> list[Plan]:
    chosen = [p for p in plans if not kind or _kind_of(p) == kind]
    if period:
        chosen = [p for p in chosen if plan_period(p) == period]
    return sorted(chosen, key=lambda p: (p.kind != PlanKind.CREDIT, p.price.amount_minor))


def plan_card(plan: Plan) -> dict[str, object]:
    """A plan in the reader's words: its title composed from its facts (`services.plan_text`, the same on
    every channel), never its (English) catalogue name; credit plans differ by their amount."""
    title = plan_text.title_of(plan, translation.get_language() or "en")
    detail = _("Credit for calls, texts and data") if plan.kind == PlanKind.CREDIT else KINDS["data"]
    return {"id": plan.id, "title": title, "detail": str(detail), "price": money(plan.price)}


def filters_context(request: HttpRequest, offered: Sequence[Plan]) -> dict[str, object]:
    """The plan filters, offering only the kinds and durations some plan of `offered` has (an eSIM has
    no credit plan: no "Credit" filter); a row with a single choice is not offered at all."""
    kinds = {_kind_of(p) for p in offered}
    periods = {plan_period(p) for p in offered}
    kind = request.GET.get("kind", "")
    period = request.GET.get("period", "")
    kind = kind if kind in KINDS and kind in kinds else ""
    period = period if period in PERIODS and period in periods else ""
    offered_kinds = [(code, name) for code, name in KINDS.items() if code in kinds]
    offered_periods = [(code, name) for code, name in PERIODS.items() if code in periods]
    return {
        "kind": kind,
        "period": period,
        "kinds": offered_kinds if len(offered_kinds) > 1 else [],
        "periods": offered_periods if len(offered_periods) > 1 else [],
    }


def _kind_of(plan: Plan) -> str:
    return "credit" if plan.kind == PlanKind.CREDIT else "data"


def review_context(request: orders.QuoteRequest, errors: Mapping[str, str]) -> dict[str, object]:
    """The quote of what is being bought, with a fresh idempotency key for this render of the form.

    A promo code that is refused is said beside its field and the price is shown without it."""
    context: dict[str, object] = {
        "errors": errors,
        "idem": uuid.uuid4().hex,
        "methods": [(code, name, "") for code, name in PAYMENT_METHODS.items()],
        "promo_code": request.promo_code,
    }
    try:
        quote = orders.quote(request)
    except DomainError as exc:
        if exc.field != PROMO_FIELD:
            # Only the payment method, the EID and the code are on this form: the rest is said above it.
            context["errors"] = {**errors, **_on_review(errors_of(exc))}
            return context
        context["errors"] = errors = {**errors, **errors_of(exc)}
        return {**review_context(replace(request, promo_code=""), errors), "promo_code": request.promo_code}
    notes, holds = _in_yuan(request)
    context["methods"] = [(code, name, notes.get(code, "")) for code, name in PAYMENT_METHODS.items()]
    context["fx_holds"] = holds
    language = translation.get_language() or "en"
    context["quote"] = {
        "price": money(quote.price),
        "discount": money(quote.discount) if quote.discount.is_positive() else "",
        "promotions": promotion_text.lines(quote.promotions, language, money),
        "net": money(quote.net),
        "vat": money(quote.vat),
        "vat_rate": percent(quote.vat_rate_bp),
        "total": money(quote.total),
    }
    plan, network = catalogue.plan_and_network(quote.plan_id)
    context |= autotopup_views.review_context(quote.plan_id)  # "top up automatically" (card only)
    context["plan"] = plan_card(plan)
    context["network_name"] = plan_text.network_brand(network.id)
    context["msisdn"] = quote.msisdn
    return context


def typed_promo_code(http: HttpRequest) -> str:
    """The promo code in the review form, as typed (spaces squeezed, cut to a sane length)."""
    return " ".join(http.POST.get(PROMO_FIELD, "").split())[:PROMO_CODE_MAX]


def wants_promo_applied(http: HttpRequest, applied: str) -> bool:
    """Apply pressed, or Pay pressed with another code than the one the shown price includes: the
    customer first sees the new price (a code never changes what is charged without being shown)."""
    return "apply" in http.POST or typed_promo_code(http) != applied


def show_promo_applied(
    http: HttpRequest,
    request: orders.QuoteRequest,
    *,
    template: str,
    extra: dict[str, object],
    remember: Callable[[str], None],
) -> HttpResponse:
    """The review page again with the code applied (its promotions and new total), or refused beside it.
    `remember` keeps the code the shown price includes: the code when it applies, "" when it is refused
    (the price shown is without it), so that Pay with the field then cleared pays at once."""
    context = {**extra, **review_context(request, {}), "chosen_method": http.POST.get("payment_method")}
    errors = context.get("errors")
    refused = isinstance(errors, Mapping) and PROMO_FIELD in errors
    remember("" if refused else request.promo_code)
    return page(http, template, context, status=422 if refused else 200)


def _in_yuan(request: orders.QuoteRequest) -> tuple[dict[str, str], str]:
    """What an Alipay or WeChat Pay payer reads beside the method: the total in both currencies with the
    rate, its source and date and our markup (or why there is no rate), and until when the rate holds."""
    notes: dict[str, str] = {}
    holds = ""
    for method in sorted(FX_METHODS):
        try:
            quote = orders.quote(replace(request, payment_method=method))
        except DomainError as exc:
            notes[method] = next(iter(errors_of(exc).values()))
            continue
        notes[method] = fx_text.both_currencies(quote.total, quote.fx, babel_locale())
        if quote.fx is not None:
            holds = fx_text.holds_until(quote.fx, babel_locale())
    return notes, holds


def pay(
    http: HttpRequest, request: orders.QuoteRequest, *, template: str, extra: dict[str, object]
) -> HttpResponse:
    """Place the order (once per review-page key) and send the customer to the payment page."""
    method = http.POST.get("payment_method", "")
    fields = {**asdict(request), "payment_method": method}
    fields |= {k: http.POST.get(k, "") for k in ("auto_topup", "auto_threshold", "auto_cap")}
    try:
        stored = orders.place_order(
            request,
            payment_method=method,
            channel="web",
            language=http.LANGUAGE_CODE,
            idem=make_key(
                scoped("web-orders", owners.web_caller_scope(http)), http.POST.get("idem", "")[:64], fields
            ),
            auto_topup=autotopup_views.choice_from_post(http.POST),
        )
    except DomainError as exc:
        return review_again(http, request, template, extra, errors_of(exc))
    except orders.ProviderUnavailable:
        return review_again(http, request, template, extra, errors_of(code="payment_provider_unavailable"))
    owners.remember_order(http, str(stored.body["id"]))  # this browser may see its order from now on
    return HttpResponseRedirect(where_to_pay(stored.body))


def review_again(
    http: HttpRequest,
    request: orders.QuoteRequest,
    template: str,
    extra: dict[str, object],
    errors: dict[str, str],
) -> HttpResponse:
    errors = _on_review(errors)
    # The price does not depend on the EID: quote without it, so a mistyped EID still shows the price.
    context = {
        **extra,
        **review_context(replace(request, eid=""), errors),
        "chosen_method": http.POST.get("payment_method"),
        "chosen_auto": http.POST.get("auto_topup", ""),
    }
    return page(http, template, context, status=422)


def where_to_pay(order: Mapping[str, object]) -> str:
    """After an order or a new attempt: the provider's page when the payer must go there (3-D Secure, the
    bank, Alipay), else our order page (WeChat Pay's QR code is shown there, to scan with the phone)."""
    payment = order.get("payment")
    action = payment.get("next_action") if isinstance(payment, dict) else None
    if isinstance(action, dict) and action.get("kind") == "redirect" and action.get("url"):
        return str(action["url"])
    return f"/orders/{order['id']}"
