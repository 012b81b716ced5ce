"""Top up a Belgian number: the number, its network (guessed, changeable when ported), a plan, the review
with price and VAT, then the payment page. The number travels in the session, never in a URL."""

from __future__ import annotations

from dataclasses import replace

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from topup.channels import owners
from topup.channels.web import checkout
from topup.channels.web.common import errors_of, page
from topup.domain.catalogue import NetworkKind
from topup.domain.errors import DomainError
from topup.services import catalogue, orders

SESSION_KEY = "web_topup"
REVIEW = "topup/topup_review.html"


def _state(request: HttpRequest) -> dict[str, str]:
    state = request.session.get(SESSION_KEY)
    return dict(state) if isinstance(state, dict) else {}


def _save(request: HttpRequest, **changes: str) -> None:
    request.session[SESSION_KEY] = {**_state(request), **changes}


@require_http_methods(["GET", "POST"])
def number(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        typed = request.POST.get("msisdn", "")
        try:
            found = catalogue.lookup(typed)
        except DomainError as exc:
            return page(request, "topup/topup_number.html", {"typed": typed, "errors": errors_of(exc)}, 422)
        request.session[SESSION_KEY] = {
            "msisdn": found.msisdn,
            "guess": found.network or "",
            "network": found.network or "",
        }
        return HttpResponseRedirect("/topup/network")
    typed = _state(request).get("msisdn", "")
    if request.GET.get("for") == "my-line":  # "Top up this number" on My line: the signed-in line's number
        typed = owners.caller(request, with_session=True).line or typed
    return page(request, "topup/topup_number.html", {"typed": typed})


@require_http_methods(["GET", "POST"])
def network(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if not state.get("msisdn"):
        return HttpResponseRedirect("/topup")
    networks = [n for n in catalogue.networks() if n.kind is NetworkKind.EXTERNAL]
    if request.method == "POST":
        chosen = request.POST.get("network", "")
        if chosen in {n.id for n in networks}:
            _save(request, network=chosen)
            return HttpResponseRedirect("/topup/plans")
        errors = errors_of(code="network_unknown", field="network")
    else:
        errors = {}
    guessed = next((n.name for n in networks if n.id == state.get("guess")), "")
    context = {"state": state, "networks": networks, "guessed": guessed, "errors": errors}
    return page(request, "topup/topup_network.html", context, 422 if errors else 200)


@require_http_methods(["GET", "POST"])
def plans(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if not state.get("network"):
        return HttpResponseRedirect("/topup/network" if state.get("msisdn") else "/topup")
    if request.method == "POST":
        _save(request, plan_id=request.POST.get("plan_id", ""))
        return HttpResponseRedirect("/topup/review")
    offered = catalogue.plans(state["network"])
    filters = checkout.filters_context(request, offered)
    shown = checkout.filter_plans(offered, str(filters["kind"]), str(filters["period"]))
    context = {
        **filters,
        "state": state,
        "plans": [checkout.plan_card(p) for p in shown],
        "action": "/topup/plans",
    }
    return page(request, "topup/topup_plans.html", context)


def _quote_request(state: dict[str, str]) -> orders.QuoteRequest:
    return orders.QuoteRequest(
        plan_id=state.get("plan_id", ""),
        msisdn=state.get("msisdn", ""),
        network_confirmed=state.get("network") != state.get("guess"),
        promo_code=state.get("promo_code", ""),
        channel="web",
    )


@require_http_methods(["GET", "POST"])
def review(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if not state.get("plan_id"):
        return HttpResponseRedirect("/topup/plans" if state.get("network") else "/topup")
    extra: dict[str, object] = {"state": state, "action": "/topup/review", "back": "/topup/plans"}
    if request.method == "POST":
        email = request.POST.get("email", "").strip()[: checkout.MAX_EMAIL_FIELD]
        extra["email"] = email  # optional: the receipt by e-mail
        if checkout.wants_promo_applied(request, state.get("promo_code", "")):
            wanted = replace(_quote_request(state), promo_code=checkout.typed_promo_code(request))
            return checkout.show_promo_applied(
                request, wanted, template=REVIEW, extra=extra,
                remember=lambda code: _save(request, promo_code=code),
            )  # fmt: skip
        return checkout.pay(
            request, replace(_quote_request(state), email=email), template=REVIEW, extra=extra
        )
    return page(request, REVIEW, {**extra, **checkout.review_context(_quote_request(state), {})})
