"""Add data to an eSIM already bought: its ICCID (typed here, or chosen on My eSIMs), a plan of our eSIM
network, the review with the quote for that ICCID, then the payment page. The ICCID travels in the session,
never in a URL; `?auto=1` (from My eSIMs' auto-renew) pre-selects the review step's "renew this bundle"
offer."""

from __future__ import annotations

from dataclasses import replace

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from topup.channels.web import checkout
from topup.channels.web.common import errors_of, page
from topup.domain.errors import DomainError
from topup.domain.esim_catalogue import ESIM_NETWORK
from topup.services import catalogue, esim, orders

SESSION_KEY = "web_esim_topup"
REVIEW = "topup/esim_topup_review.html"


def _state(request: HttpRequest) -> dict[str, str]:
    state = request.session.get(SESSION_KEY)
    return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else {}


def start(request: HttpRequest, iccid: str, *, auto: bool = False, email: str = "") -> None:
    """Begin the journey for an ICCID already checked by the caller (My eSIMs), with the address its
    receipt goes to filled in on the review step."""
    request.session[SESSION_KEY] = {"iccid": iccid, "auto": "1" if auto else "", "email": email}


@require_http_methods(["GET", "POST"])
def number(request: HttpRequest) -> HttpResponse:
    """GET: the ICCID form; POST: check that the ICCID is one of our eSIMs and go on to the plans."""
    state = _state(request)
    if request.method == "POST":
        typed = request.POST.get("iccid", "")[:80]
        try:
            line = esim.find_line("".join(typed.split()))
        except DomainError as exc:
            context = {"typed": typed, "errors": errors_of(exc, field="iccid")}
            return page(request, "topup/esim_topup.html", context, 422)
        request.session[SESSION_KEY] = {"iccid": line.iccid, "auto": state.get("auto", "")}
        return HttpResponseRedirect("/esim/topup/plans")
    if request.GET.get("auto") == "1":
        request.session[SESSION_KEY] = {**state, "auto": "1"}
    return page(request, "topup/esim_topup.html", {"typed": state.get("iccid", "")})


@require_http_methods(["GET", "POST"])
def plans(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if not state.get("iccid"):
        return HttpResponseRedirect("/esim/topup")
    if request.method == "POST":
        request.session[SESSION_KEY] = {**state, "plan_id": request.POST.get("plan_id", "")}
        return HttpResponseRedirect("/esim/topup/review")
    offered = catalogue.plans(ESIM_NETWORK.id)
    filters = checkout.filters_context(request, offered)
    shown = checkout.filter_plans(offered, str(filters["kind"]), str(filters["period"]))
    context = {
        **filters,
        "iccid": state["iccid"],
        "plans": [checkout.plan_card(p) for p in shown],
        "action": "/esim/topup/plans",
    }
    return page(request, "topup/esim_topup_plans.html", context)


@require_http_methods(["GET", "POST"])
def review(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    if not state.get("plan_id"):
        return HttpResponseRedirect("/esim/topup/plans" if state.get("iccid") else "/esim/topup")
    wanted = orders.QuoteRequest(plan_id=state["plan_id"], iccid=state["iccid"], channel="web")
    extra: dict[str, object] = {
        "iccid": state["iccid"],
        # From My eSIMs' "Auto-renew": the review step's auto top-up offer starts on "renew this bundle".
        "chosen_auto": "renew" if state.get("auto") == "1" else "",
        "action": "/esim/topup/review",
        "back": "/esim/topup/plans",
    }
    if request.method == "POST":
        email = request.POST.get("email", "").strip()[: checkout.MAX_EMAIL_FIELD]
        extra["email"] = email  # optional: the receipt by e-mail
        return checkout.pay(request, replace(wanted, email=email), template=REVIEW, extra=extra)
    extra["email"] = state.get("email", "")  # from My eSIMs: the address the eSIM was bought with
    return page(request, REVIEW, {**extra, **checkout.review_context(wanted, {})})
