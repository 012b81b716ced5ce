"""REST API v1 for eSIMs: plans, buying a new eSIM, its QR code, the SM-DP+'s progress callback, usage."""

from __future__ import annotations

import io

import segno
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Router, Status
from ninja.params.functions import Header

from topup.channels import es2plus, owners
from topup.channels.api.auth import ScopedKey
from topup.channels.api.documents import ERRORS, plan_document
from topup.channels.api.schemas import CreatedOrderOut, EsimOrderIn, OrderOut, PlanOut
from topup.channels.api.usage_body import usage_answer, usage_records
from topup.domain.catalogue import NetworkKind
from topup.domain.errors import NotFound
from topup.services import catalogue, esim, orders, usage
from topup.services.idempotency import make_key, scoped
from topup.services.order_access import owned_order

router = Router(tags=["esim"])
IDEMPOTENCY_HEADER = "Idempotency-Key"
ORDER_TOKEN = Header(
    None,
    alias="X-Order-Token",
    description="The order's own secret (`order_token`), unless the API key that created the order or the "
    "signed-in line's bearer token is sent; anyone else gets 404 order_not_found.",
)


@router.get("/esim/plans", response=list[PlanOut])
def esim_plans(request: HttpRequest) -> list[dict[str, object]]:
    hosted = {n.id for n in catalogue.networks() if n.kind is NetworkKind.HOSTED}
    return [plan_document(p) for p in catalogue.plans() if p.network_id in hosted]


@router.post("/esim/orders", response={201: CreatedOrderOut, **ERRORS})
def create_esim_order(request: HttpRequest, body: EsimOrderIn) -> Status[dict[str, object]]:
    scope = scoped("esim-orders", owners.api_caller_scope(request))
    idem = make_key(scope, request.headers.get(IDEMPOTENCY_HEADER), body.model_dump())
    stored = orders.place_order(
        orders.QuoteRequest(
            body.plan_id,
            new_esim=True,
            eid=body.eid,
            email=body.email,
            promo_code=body.promo_code,
            channel="api",
        ),
        payment_method=body.payment_method,
        channel="api",
        language=body.language or get_language() or "en",
        idem=idem,
        api_key_id=owners.api_key_id(request),
    )
    return Status(stored.status, stored.body)


def _activation_code(request: HttpRequest, order_id: str) -> str:
    # The QR code is a bearer secret: only who may see the order gets it (the eSIM page's image by session).
    order = owned_order(order_id, owners.caller(request, with_session=True))
    if order.line is None:
        raise NotFound("this order has no eSIM yet", code="esim_not_ready", field="order_id")
    if order.status != "delivered" or order.line.profile_state in {"cancelled", "deleted"}:
        # The profile went back to the SM-DP+ pool: its code must not be installable from our pages.
        raise NotFound("this eSIM was cancelled", code="esim_cancelled", field="order_id")
    return order.line.activation_code


@router.get("/esim/orders/{order_id}/qr.svg", response={200: None, **ERRORS})
def qr_svg(request: HttpRequest, order_id: str, order_token: str | None = ORDER_TOKEN) -> HttpResponse:
    out = io.BytesIO()
    segno.make_qr(_activation_code(request, order_id), mode="byte", error="m").save(
        out, kind="svg", scale=6, border=4
    )
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


@router.get("/esim/orders/{order_id}/qr.png", response={200: None, **ERRORS})
def qr_png(request: HttpRequest, order_id: str, order_token: str | None = ORDER_TOKEN) -> HttpResponse:
    out = io.BytesIO()
    segno.make_qr(_activation_code(request, order_id), mode="byte", error="m").save(
        out, kind="png", scale=8, border=4
    )
    return HttpResponse(out.getvalue(), content_type="image/png")


@router.post("/esim/orders/{order_id}/cancel", response={202: OrderOut, **ERRORS})
def cancel_esim(
    request: HttpRequest, order_id: str, order_token: str | None = ORDER_TOKEN
) -> Status[dict[str, object]]:
    """Cancel a new eSIM before it is downloaded: the profile goes back to the SM-DP+ and the money back.
    Needs the order's token, the API key that created it or the line's bearer token (not a cookie)."""
    caller = owners.caller(request, with_session=False)
    owned_order(order_id, caller)
    esim.cancel_before_download(order_id)
    return Status(202, orders.get_order(order_id, caller))


@router.post(
    "/esim/es2plus/handleDownloadProgressInfo",
    response={200: dict[str, object], 204: None, **ERRORS},  # 200: an ES2+ refusal (call id reused)
    tags=["es2plus"],
)
def download_progress(request: HttpRequest) -> HttpResponse:
    """ES2+ HandleDownloadProgressInfo from the SM-DP+ (older path; the GSMA path is
    /gsma/rsp2/es2plus/handleDownloadProgressInfo): authenticated by its bearer key, answered 204."""
    return es2plus.download_progress(request)


@router.post(
    "/usage", response={200: dict[str, object], **ERRORS}, auth=ScopedKey("usage:write"), tags=["usage"]
)
def post_usage(request: HttpRequest) -> HttpResponse:
    # The body (documented as `UsageIn` by openapi.SCHEMA_BODIES) is read by `usage_body`, not by ninja.
    result = usage.record_usage(usage_records(request))
    # Rendered here: ninja would validate the 10,000 results against the response schema first.
    return HttpResponse(usage_answer(result), content_type="application/json")
