"""Buy a new eSIM: choose a plan of our own network, review it (EID optional), pay; the order page then
shows the QR code and how to install it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from topup.channels.web import checkout
from topup.channels.web.common import page
from topup.domain.esim_catalogue import ESIM_NETWORK
from topup.services import catalogue, orders

SESSION_KEY = "web_esim"
REVIEW = "topup/esim_review.html"


@require_http_methods(["GET", "POST"])
def plans(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.session[SESSION_KEY] = {"plan_id": request.POST.get("plan_id", "")}
        return HttpResponseRedirect("/esim/review")
    filters = checkout.filters_context(request)
    shown = checkout.filter_plans(
        catalogue.plans(ESIM_NETWORK.id), str(filters["kind"]), str(filters["period"])
    )
    context = {
        **filters,
        "plans": [checkout.plan_card(p) for p in shown],
        "action": "/esim",
        "esim": True,
    }
    return page(request, "topup/esim_plans.html", context)


@require_http_methods(["GET", "POST"])
def review(request: HttpRequest) -> HttpResponse:
    state = request.session.get(SESSION_KEY)
    state = dict(state) if isinstance(state, dict) else {}
    plan_id = str(state.get("plan_id", ""))
    if not plan_id:
        return HttpResponseRedirect("/esim")
    promo_code = str(state.get("promo_code", ""))
    extra: dict[str, object] = {"action": "/esim/review", "back": "/esim", "esim": True}
    if request.method == "POST":
        eid = "".join(request.POST.get("eid", "").split())
        extra["eid"] = eid
        if checkout.wants_promo_applied(request, promo_code):
            promo_code = checkout.typed_promo_code(request)
            request.session[SESSION_KEY] = {**state, "promo_code": promo_code}
            wanted = orders.QuoteRequest(plan_id=plan_id, new_esim=True, promo_code=promo_code)
            return checkout.show_promo_applied(request, wanted, template=REVIEW, extra=extra)
        wanted = orders.QuoteRequest(plan_id=plan_id, new_esim=True, eid=eid, promo_code=promo_code)
        return checkout.pay(request, wanted, template=REVIEW, extra=extra)
    wanted = orders.QuoteRequest(plan_id=plan_id, new_esim=True, promo_code=promo_code)
    return page(request, REVIEW, {**extra, **checkout.review_context(wanted, {})})
