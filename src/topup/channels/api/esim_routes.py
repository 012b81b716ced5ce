"""REST API v1 for eSIMs: plans, buying a new eSIM, its QR code, the SM-DP+'s progress callback, usage."""

from __future__ import annotations

import hmac
import io

import segno
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Router, Status

from topup.adapters.esim.es2plus import parse_progress_notification
from topup.channels.api.auth import ScopedKey
from topup.channels.api.documents import ERRORS, plan_document
from topup.channels.api.errors import json_response
from topup.channels.api.schemas import EsimOrderIn, OrderOut, PlanOut, UsageIn
from topup.channels.messages import error_body
from topup.clock import now
from topup.db.models import Order
from topup.domain.catalogue import NetworkKind
from topup.domain.errors import DomainError, NotFound
from topup.jsonbody import read_object
from topup.services import catalogue, esim, orders, usage
from topup.services.idempotency import make_key
from topup.settings import CONFIG

router = Router(tags=["esim"])
IDEMPOTENCY_HEADER = "Idempotency-Key"


@router.get("/esim/plans", response=list[PlanOut])
def esim_plans(request: HttpRequest) -> list[dict[str, object]]:
    hosted = {n.id for n in catalogue.networks() if n.kind is NetworkKind.HOSTED}
    return [plan_document(p) for p in catalogue.plans() if p.network_id in hosted]


@router.post("/esim/orders", response={201: OrderOut, **ERRORS})
def create_esim_order(request: HttpRequest, body: EsimOrderIn) -> Status[dict[str, object]]:
    idem = make_key("esim-orders", request.headers.get(IDEMPOTENCY_HEADER), body.model_dump())
    stored = orders.place_order(
        orders.QuoteRequest(body.plan_id, new_esim=True, eid=body.eid),
        payment_method=body.payment_method,
        channel="api",
        language=body.language or get_language() or "en",
        idem=idem,
    )
    return Status(stored.status, stored.body)


def _activation_code(order_id: str) -> str:
    order = Order.objects.select_related("line").filter(id=order_id).first()
    if order is None or order.line is None:
        raise NotFound("this order has no eSIM yet", code="esim_not_ready", field="order_id")
    if order.status != "delivered" or order.line.profile_state in {"cancelled", "deleted"}:
        # The profile went back to the SM-DP+ pool: its code must not be installable from our pages.
        raise NotFound("this eSIM was cancelled", code="esim_cancelled", field="order_id")
    return order.line.activation_code


@router.get("/esim/orders/{order_id}/qr.svg", response={200: None, **ERRORS})
def qr_svg(request: HttpRequest, order_id: str) -> HttpResponse:
    out = io.BytesIO()
    segno.make_qr(_activation_code(order_id), mode="byte", error="m").save(out, kind="svg", scale=6, border=4)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


@router.get("/esim/orders/{order_id}/qr.png", response={200: None, **ERRORS})
def qr_png(request: HttpRequest, order_id: str) -> HttpResponse:
    out = io.BytesIO()
    segno.make_qr(_activation_code(order_id), mode="byte", error="m").save(out, kind="png", scale=8, border=4)
    return HttpResponse(out.getvalue(), content_type="image/png")


@router.post("/esim/orders/{order_id}/cancel", response={202: OrderOut, **ERRORS})
def cancel_esim(request: HttpRequest, order_id: str) -> Status[dict[str, object]]:
    """Cancel a new eSIM before it is downloaded: the profile goes back to the SM-DP+ and the money back."""
    esim.cancel_before_download(order_id)
    return Status(202, orders.get_order(order_id))


@router.post("/esim/es2plus/handleDownloadProgressInfo", response={204: None, **ERRORS}, tags=["es2plus"])
def download_progress(request: HttpRequest) -> HttpResponse:
    """ES2+ HandleDownloadProgressInfo from the SM-DP+: authenticated by its bearer key, answered 204."""
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), CONFIG.smdp_callback_key.encode()):
        return json_response(401, error_body("unauthorized", field="Authorization"))
    body = read_object(request.body)  # a refused body is 400 with its code (errors.install)
    try:
        info = parse_progress_notification(body)
    except (ValueError, TypeError) as exc:
        # A refused identifier keeps its code (invalid_iccid, invalid_eid); anything else is invalid_request.
        code = exc.__cause__.code if isinstance(exc.__cause__, DomainError) else "invalid_request"
        return json_response(400, error_body(code, str(exc)))
    esim.record_progress(
        iccid=info.iccid, point=info.notification_point_id, ok=info.ok,
        code="" if info.ok else f"smdp_{info.subject_code}_{info.reason_code}",
        source_ref=f"{info.requester_id}:{info.function_call_id}", at=now(),
    )  # fmt: skip
    return HttpResponse(status=204)


@router.post(
    "/usage", response={200: dict[str, object], **ERRORS}, auth=ScopedKey("usage:write"), tags=["usage"]
)
def post_usage(request: HttpRequest, body: UsageIn) -> dict[str, object]:
    # An empty iccid or imsi is an absent one (a record names its line by one of them).
    records = [
        {name: value for name, value in record.model_dump(mode="json").items() if value != ""}
        for record in body.records
    ]
    result = usage.record_usage(records)
    return {
        "accepted": result.accepted, "duplicates": result.duplicates, "refused_kb": result.refused_kb,
        "results": result.results,
    }  # fmt: skip
