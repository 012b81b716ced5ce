"""Buy a new eSIM: choose a plan of our own network, review it (e-mail address required, EID optional), pay;
the order page then shows the QR code and how to install it, and the receipt e-mail carries them too."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from topup.channels.web import checkout
from topup.channels.web.common import errors_of, page
from topup.domain.esim_catalogue import ESIM_NETWORK
from topup.services import catalogue, orders

SESSION_KEY = "web_esim"
REVIEW = "topup/esim_review.html"


@require_http_methods(["GET", "POST"])
def plans(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.session[SESSION_KEY] = {"plan_id": request.POST.get("plan_id", "")}
        return HttpResponseRedirect("/esim/review")
    offered = catalogue.plans(ESIM_NETWORK.id)
    filters = checkout.filters_context(request, offered)
    shown = checkout.filter_plans(offered, str(filters["kind"]), str(filters["period"]))
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
        email = request.POST.get("email", "").strip()[: checkout.MAX_EMAIL_FIELD]
        extra |= {"eid": eid, "email": email}
        if checkout.wants_promo_applied(request, promo_code):
            promo_code = checkout.typed_promo_code(request)
            wanted = orders.QuoteRequest(plan_id=plan_id, new_esim=True, promo_code=promo_code, channel="web")

            def remember(code: str) -> None:
                request.session[SESSION_KEY] = {**state, "promo_code": code}

            return checkout.show_promo_applied(
                request, wanted, template=REVIEW, extra=extra, remember=remember
            )
        wanted = orders.QuoteRequest(
            plan_id=plan_id, new_esim=True, eid=eid, email=email, promo_code=promo_code, channel="web"
        )
        if not email:  # the QR code and the receipt go there: the website's eSIM buyer must give one
            return checkout.review_again(
                request, wanted, REVIEW, extra, errors_of(code="email_required", field="email")
            )
        return checkout.pay(request, wanted, template=REVIEW, extra=extra)
    wanted = orders.QuoteRequest(plan_id=plan_id, new_esim=True, promo_code=promo_code, channel="web")
    return page(request, REVIEW, {**extra, **checkout.review_context(wanted, {})})
