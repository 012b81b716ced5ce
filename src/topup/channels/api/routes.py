"""REST API v1: catalogue, quotes, orders, payment webhooks, balances and the ledger's trial balance."""

from __future__ import annotations

from dataclasses import replace

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import NinjaAPI, Router, Status
from ninja.params.functions import Header, Query

from topup.channels import owners
from topup.channels.api import errors, openapi
from topup.channels.api.auth import ScopedKey
from topup.channels.api.auth_routes import router as auth_router
from topup.channels.api.autotopup_routes import choice as autotopup_choice
from topup.channels.api.autotopup_routes import router as autotopup_router
from topup.channels.api.documents import ERRORS, money_document, plan_document
from topup.channels.api.esim_routes import router as esim_router
from topup.channels.api.order_events import router as order_events_router
from topup.channels.api.order_events import too_busy
from topup.channels.api.pos_routes import install as install_pos
from topup.channels.api.schemas import (
    BalanceOut,
    CreatedOrderOut,
    LookupOut,
    NetworkOut,
    OrderIn,
    OrderOut,
    PlanOut,
    QuoteIn,
    QuoteOut,
    RetryIn,
    TrialBalanceOut,
    WebhookOut,
)
from topup.channels.api.voucher_routes import router as voucher_router
from topup.channels.messages import error_body
from topup.domain.promotions import AppliedPromotion
from topup.domain.quotes import Quote
from topup.services import attempts, balances, catalogue, esim, order_watch, orders, payments, peers
from topup.services.idempotency import make_key, scoped
from topup.services.order_view import owned_document

api = NinjaAPI(
    title="Topup API",
    version="1",
    urls_namespace="api-v1",
    description="Prepaid top-ups and eSIM data plans. Errors are `{error: {code, message, field}}`. "
    "No text may hold a NUL character (U+0000): it is refused with 400 `invalid_character`.",
    parser=errors.JsonObjectParser(),
)
errors.install(api)
router = Router()
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    description="Required, at most 255 characters. The same key with the same body replays the first answer; "
    "with another body it is refused with 409 idempotency_conflict.",
)
ORDER_TOKEN = Header(
    None,
    alias="X-Order-Token",
    description="The order's own secret, `order_token` in the answer that created it. Without it, only the "
    "API key that created the order (`Authorization: Bearer tpk_…`) or the signed-in line it is for "
    "(`Authorization: Bearer <token from /auth/otp/verify>`) may read it; anyone else gets 404 "
    "order_not_found.",
)
MSISDN_QUERY = Query(..., min_length=1, max_length=40, description="A Belgian mobile number, as typed")


def _quote(q: Quote) -> dict[str, object]:
    return {
        "plan_id": q.plan_id,
        "network": q.network_id,
        "msisdn": q.msisdn,
        "price": money_document(q.price),
        "discount": money_document(q.discount),
        "total": money_document(q.total),
        "net": money_document(q.net),
        "vat": money_document(q.vat),
        "vat_rate_percent": q.vat_rate_bp / 100,
        "fx": None if q.fx is None else q.fx.to_dict(),
        "promotions": [_promotion(p, get_language() or "en") for p in q.promotions],
    }


def _promotion(promotion: AppliedPromotion, language: str) -> dict[str, object]:
    return {**promotion.to_dict(), "name": promotion.name_in(language)}


@router.get("/networks", response=list[NetworkOut], tags=["catalogue"])
def list_networks(request: HttpRequest) -> list[dict[str, object]]:
    return [{"id": n.id, "name": n.name, "kind": n.kind.value} for n in catalogue.networks()]


@router.get("/plans", response=list[PlanOut], tags=["catalogue"])
def list_plans(request: HttpRequest, network: str | None = None) -> list[dict[str, object]]:
    return [plan_document(p) for p in catalogue.plans(network)]


@router.get("/lookup", response={200: LookupOut, **ERRORS}, tags=["catalogue"])
def lookup(request: HttpRequest, msisdn: str = MSISDN_QUERY) -> dict[str, object]:
    found = catalogue.lookup(msisdn)
    return {"msisdn": found.msisdn, "network": found.network, "source": found.source}


@router.post("/quotes", response={200: QuoteOut, **ERRORS}, tags=["orders"])
def create_quote(request: HttpRequest, body: QuoteIn) -> dict[str, object]:
    """The price; with `payment_method` alipay or wechat_pay also in yuan (`fx`), or 409
    fx_rate_unavailable when no recent enough rate is known."""
    wanted = orders.QuoteRequest(
        body.plan_id, body.msisdn, body.network_confirmed, iccid=body.iccid, promo_code=body.promo_code,
        channel="api",
    )  # fmt: skip
    return _quote(orders.quote(replace(wanted, payment_method=body.payment_method or "")))


@router.post("/orders", response={201: CreatedOrderOut, **ERRORS}, tags=["orders"])
def create_order(
    request: HttpRequest,
    body: OrderIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Status[dict[str, object]]:
    """Create an order awaiting payment. Keep `order_token`: it is the only way to read the order later
    for a caller without an API key. Idempotency-Keys are scoped by caller (API key, else client address)."""
    idem = make_key(scoped("orders", owners.api_caller_scope(request)), idempotency_key, body.model_dump())
    stored = orders.place_order(
        orders.QuoteRequest(
            body.plan_id,
            body.msisdn,
            body.network_confirmed,
            iccid=body.iccid,
            promo_code=body.promo_code,
            channel="api",
        ),
        payment_method=body.payment_method,
        channel="api",
        language=body.language or get_language() or "en",
        idem=idem,
        api_key_id=owners.api_key_id(request),
        auto_topup=autotopup_choice(body.auto_topup),
    )
    return Status(stored.status, stored.body)


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, tags=["orders"])
def get_order(
    request: HttpRequest,
    order_id: str,
    order_token: str | None = ORDER_TOKEN,
    wait: int = Query(0, ge=0, le=20, description="Long poll: wait up to this many seconds for a change"),
    after: str = Query("", max_length=80, description="Long poll: the status (or state) already seen"),
) -> HttpResponse | dict[str, object]:
    """The order, for its token, the API key that created it or the signed-in line; else 404. With `wait`,
    the answer comes once the status differs from `after` (or after `wait` seconds unchanged); 503 with
    Retry-After when this server already holds as many waiting requests as it may."""
    caller = owners.caller(request, with_session=True)
    if wait and order_watch.wait_for_change(order_id, caller, after, timeout_s=wait).retry_ms:
        return too_busy()
    return owned_document(order_id, caller)


@router.post("/orders/{order_id}/payments", response={200: CreatedOrderOut, 201: CreatedOrderOut, **ERRORS},
             tags=["orders"])  # fmt: skip
def retry_payment(
    request: HttpRequest,
    order_id: str,
    body: RetryIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
    order_token: str | None = ORDER_TOKEN,
) -> Status[dict[str, object]]:
    """Pay again after a declined or abandoned payment, with the same or another method: a new payment
    attempt; the current one is cancelled at the provider first (200 and no new attempt if it had
    succeeded). Who may read the order may do this; anyone else gets 404 order_not_found. Refused with 409
    order_expired, order_not_awaiting_payment, payment_processing or too_many_payment_attempts, and for
    alipay or wechat_pay fx_rate_unavailable: such an attempt freezes its own yuan quote (`quote.fx`)."""
    idem = make_key(scoped(f"order-payments:{order_id}", owners.api_caller_scope(request)), idempotency_key,
                    body.model_dump())  # fmt: skip
    stored = attempts.retry_payment(
        order_id, owners.caller(request, with_session=True), payment_method=body.payment_method, idem=idem
    )
    return Status(stored.status, stored.body)


@router.post("/payments/webhooks/{provider}", response={200: WebhookOut, **ERRORS}, tags=["payments"])
def payment_webhook(request: HttpRequest, provider: str) -> HttpResponse | dict[str, object]:
    if provider not in peers.current().payments:
        return errors.json_response(404, error_body("unknown_provider", field="provider"))
    outcome = payments.receive_webhook(provider, request.body, request.headers)
    return {"received": True, "outcome": outcome}


@router.get(
    "/lines/{msisdn}/balance",
    response={200: BalanceOut, **ERRORS},
    auth=ScopedKey("balance:read"),
    tags=["lines"],
)
def line_balance(request: HttpRequest, msisdn: str) -> dict[str, object]:
    if esim.looks_like_iccid(msisdn):
        return esim.line_document(esim.find_line(msisdn))
    found = balances.check_balance(msisdn)
    return {
        "msisdn": found.msisdn,
        "network": found.network,
        "credit": money_document(found.credit),
        "valid_until": found.valid_until,
        "source": found.source,
        "bundles": balances.carrier_bundle_documents(found),
    }


@router.get(
    "/admin/ledger/trial-balance",
    response={200: TrialBalanceOut, **ERRORS},
    auth=ScopedKey("admin"),
    tags=["admin"],
)
def trial_balance(request: HttpRequest) -> dict[str, object]:
    return balances.trial_balance_document()


api.add_router("/", router)
api.add_router("/", esim_router)
api.add_router("/", order_events_router)
api.add_router("/", auth_router)
api.add_router("/", voucher_router)
api.add_router("/", autotopup_router)
install_pos(api)
openapi.install(api)
