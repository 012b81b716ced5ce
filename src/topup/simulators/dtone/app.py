"""DT One's Digital Value Services (DVS) API v1, as a simulator speaks it (from DT One's public OpenAPI).

    GET  /v1/operators  /v1/products  /v1/products/{id}  /v1/balances      discovery and the account float
    POST /v1/lookup/mobile-number                                          operators of an MSISDN
    POST /v1/lookup/credit-party-benefits                                  what a line has left
    POST /v1/async/transactions                      create (auto_confirm optional), external_id unique
    POST /v1/async/transactions/{id}/confirm         send it to the operator; final status comes later
    POST /v1/transactions/{id}/cancel                only while CREATED
    GET  /v1/transactions/{id}   GET /v1/transactions?external_id=&from_date=&to_date=&page=&per_page=
    GET  /sim/lines/{msisdn}  GET|POST /sim/faults  POST /sim/balance  POST /sim/transactions/{id}/reverse
                                                                           the simulator's own inspection
    GET  /healthz

HTTP Basic authentication (API key, secret) on everything but /healthz. Errors are DVS's
`{"errors": [{"code", "message"}]}`. Final statuses reach `callback_url` as a POST of the transaction.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from aiohttp import web

from topup.simulators.carriers.faults import Draw
from topup.simulators.carriers.numbering import locate
from topup.simulators.dtone import catalogue, inspection
from topup.simulators.dtone.catalogue import PRODUCTS, Product
from topup.simulators.dtone.outcomes import CLOCK, FAULTS, STATE, Clock, FaultBoard, settle
from topup.simulators.dtone.state import (
    STATUSES,
    AccountState,
    ExternalIdUsed,
    InsufficientBalance,
    Transaction,
)
from topup.simulators.dtone.wire import error, iso, major, transaction_json
from topup.simulators.serving import json_object

MAX_PER_PAGE: Final = 100
MAX_WINDOW: Final = timedelta(hours=24)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _auth_middleware(api_key: str, api_secret: str) -> Any:
    expected = b"Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode())

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != "/healthz":
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return error(1000401)
            latency_ms = request.app[FAULTS].faults.latency_ms
            if latency_ms and request.path.startswith("/v1/"):
                await asyncio.sleep(latency_ms / 1000)
        return await handler(request)

    return authenticate


def _cents(value: object) -> int | None:
    """A DVS amount (a JSON number in major units) as cents, if it has at most two decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        cents = Decimal(str(value)) * 100
    except InvalidOperation:
        return None
    return int(cents) if cents == cents.to_integral_value() else None


def _paged(request: web.Request, items: list[Any]) -> web.Response:
    try:
        page = max(int(request.query.get("page", "1")), 1)
        per_page = min(max(int(request.query.get("per_page", "50")), 1), MAX_PER_PAGE)
    except ValueError:
        return error(1000400, "page and per_page are integers")
    pages = max((len(items) + per_page - 1) // per_page, 1)
    headers = {"X-Total": str(len(items)), "X-Total-Pages": str(pages), "X-Per-Page": str(per_page),
               "X-Page": str(page)}  # fmt: skip
    if page < pages:
        headers["X-Next-Page"] = str(page + 1)
    if page > 1:
        headers["X-Prev-Page"] = str(page - 1)
    return web.json_response(items[(page - 1) * per_page : page * per_page], headers=headers)


async def operators(request: web.Request) -> web.Response:
    country = request.query.get("country_iso_code", "BEL")
    found = [catalogue.operator_json(n) for n in catalogue.OPERATORS] if country == "BEL" else []
    return _paged(request, found)


async def lookup_mobile_number(request: web.Request) -> web.Response:
    body = await json_object(request)
    number = body.get("mobile_number") if body else None
    subscriber = locate(number) if isinstance(number, str) else None
    if subscriber is None or subscriber.e164 is None:
        return error(1005003)
    network = subscriber.network
    found = [catalogue.operator_json(network) | {"identified": True}] if network else []
    return _paged(request, found)


async def products(request: web.Request) -> web.Response:
    query = request.query
    found = list(PRODUCTS.values())
    if "operator_id" in query:
        found = [p for p in found if str(catalogue.OPERATORS[p.network][0]) == query["operator_id"]]
    if "type" in query:
        found = [p for p in found if p.type == query["type"]]
    if query.get("country_iso_code", "BEL") != "BEL":
        found = []
    return _paged(request, [catalogue.product_json(p) for p in found])


async def product_by_id(request: web.Request) -> web.Response:
    product = PRODUCTS.get(int(request.match_info["product_id"]))
    return web.json_response(catalogue.product_json(product)) if product else error(1003001)


async def balances(request: web.Request) -> web.Response:
    state = request.app[STATE]
    balance = {"id": 1, "unit_type": "CURRENCY", "unit": "EUR", "available": major(state.available_cents),
               "holding": major(state.holding_cents), "credit_limit": 0}  # fmt: skip
    return _paged(request, [balance])


def _value_cents(body: dict[str, Any], product: Product) -> int | web.Response:
    """The destination amount: the product's own, or the requested one within a ranged product's range."""
    if product.value_cents is not None:
        return product.value_cents
    mode = body.get("calculation_mode")
    side = {"DESTINATION_AMOUNT": "destination", "SOURCE_AMOUNT": "source"}.get(str(mode))
    requested = body.get(side) if side else None
    if not isinstance(requested, dict) or requested.get("unit") != "EUR":
        return error(1000400, "ranged products need calculation_mode and its amount in EUR")
    cents = _cents(requested.get("amount"))
    if cents is None or not catalogue.RANGE_MIN_CENTS <= cents <= catalogue.RANGE_MAX_CENTS:
        return error(1003002)
    return cents


def _create(state: AccountState, body: dict[str, Any]) -> Transaction | web.Response:
    external_id, product_id = body.get("external_id"), body.get("product_id")
    if not isinstance(external_id, str) or not 0 < len(external_id.strip()) <= 40:
        return error(1000400, "external_id is a non-empty string of at most 40 characters")
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        return error(1000400, "product_id is an integer")
    product = PRODUCTS.get(product_id)
    if product is None:
        return error(1003001)
    party = body.get("credit_party_identifier")
    number = party.get("mobile_number") if isinstance(party, dict) else None
    if not isinstance(number, str) or locate(number).e164 is None:
        return error(1005003)
    value = _value_cents(body, product)
    if isinstance(value, web.Response):
        return value
    callback = body.get("callback_url")
    try:
        return state.create(
            external_id, product, number, value, callback if isinstance(callback, str) else None
        )
    except ExternalIdUsed:
        return error(1007001)
    except InsufficientBalance:
        return error(1006001)


def _confirm(request: web.Request, tx: Transaction) -> web.Response:
    state = request.app[STATE]
    if tx.status_class == "CANCELLED":
        return error(1007005)
    if tx.status_class != "CREATED":
        return error(1007002) if tx.confirmed_at else error(1007004)
    if datetime.now(UTC) > tx.confirm_by:
        return error(1007004, "confirmation_expiration_date has passed")
    state.move(tx, "CONFIRMED")
    settle(request.app[STATE], request.app[CLOCK], tx)
    return web.json_response(transaction_json(tx), status=202)


async def _with_faults(request: web.Request, act: Callable[[], web.Response]) -> web.Response:
    """Injected faults of the writes: 503 applying nothing, or an answer after the client gave up
    (applied or not, half and half), so that only a status query can tell."""
    draw = request.app[FAULTS].draw()
    if draw is Draw.ERROR:
        return error(1009503)
    if draw is Draw.NORMAL:
        return act()
    response = act() if draw is Draw.TIMEOUT_APPLIED else error(1009503)
    await asyncio.sleep(request.app[FAULTS].timeout_sleep_s)
    return response


async def create_transaction(request: web.Request) -> web.Response:
    body = await json_object(request)
    if body is None:
        return error(1000400, "expected a JSON object")

    def act() -> web.Response:
        created = _create(request.app[STATE], body)
        if isinstance(created, web.Response):
            return created
        if body.get("auto_confirm") is True:
            _confirm(request, created)
        return web.json_response(transaction_json(created), status=201)

    return await _with_faults(request, act)


def _transaction(request: web.Request) -> Transaction | None:
    try:
        return request.app[STATE].transactions.get(int(request.match_info["transaction_id"]))
    except ValueError:
        return None


async def confirm_transaction(request: web.Request) -> web.Response:
    tx = _transaction(request)
    if tx is None:
        return error(1008004)
    return await _with_faults(request, lambda: _confirm(request, tx))


async def cancel_transaction(request: web.Request) -> web.Response:
    tx = _transaction(request)
    if tx is None:
        return error(1008004)
    if tx.status_class == "CANCELLED":
        return error(1007005)
    if tx.status_class != "CREATED":
        return error(1007007)
    request.app[STATE].move(tx, "CANCELLED")
    return web.json_response(transaction_json(tx), status=202)


async def transaction_by_id(request: web.Request) -> web.Response:
    tx = _transaction(request)
    return web.json_response(transaction_json(tx)) if tx else error(1008004)


def _date(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def list_transactions(request: web.Request) -> web.Response:
    state, query = request.app[STATE], request.query
    if "external_id" in query:
        tx = state.by_external.get(query["external_id"])
        return _paged(request, [transaction_json(tx)]) if tx else error(1008004)
    try:
        until = _date(query["to_date"]) if "to_date" in query else datetime.now(UTC)
        since = _date(query["from_date"]) if "from_date" in query else until - MAX_WINDOW
    except ValueError:
        return error(1000400, "from_date and to_date are ISO 8601 date-times")
    if until - since > MAX_WINDOW or since > until:
        return error(1000400, "the window between from_date and to_date can not exceed 24 hours")
    found = sorted(state.created_between(since, until), key=lambda tx: tx.id)
    if "status_id" in query:
        found = [tx for tx in found if str(STATUSES[tx.status][0]) == query["status_id"]]
    return _paged(request, [transaction_json(tx) for tx in found])


async def credit_party_benefits(request: web.Request) -> web.Response:
    """What the line has left of what DT One delivered: CREDITS in EUR, DATA in MB, with expiry."""
    body = await json_object(request) or {}
    party = body.get("credit_party_identifier")
    number = party.get("mobile_number") if isinstance(party, dict) else None
    subscriber = locate(number) if isinstance(number, str) else None
    if subscriber is None or subscriber.e164 is None:
        return error(1005003)
    if subscriber.network is None:
        return error(1003101)
    line = request.app[STATE].lines.get(subscriber.e164)
    country = catalogue.COUNTRY
    found: list[dict[str, Any]] = []
    if line is not None:
        found.append(
            {
                "type": "CREDITS",
                "unit_type": "CURRENCY",
                "unit": "EUR",
                "amount": major(line.credit_cents),
                "expiration_date": None,
                "country": country,
            }
        )
        found += [{"type": "DATA", "unit_type": "DATA", "unit": "MB",
                   "amount": -1 if b.unlimited else b.data_left_mb, "expiration_date": iso(b.expires_at),
                   "country": country} for b in line.bundles]  # fmt: skip
    return _paged(request, found)


def build_app(
    state: AccountState, faults: FaultBoard, clock: Clock, api_key: str, api_secret: str
) -> web.Application:
    app = web.Application(middlewares=[_auth_middleware(api_key, api_secret)])
    app[STATE], app[FAULTS], app[CLOCK] = state, faults, clock
    app.router.add_get("/v1/operators", operators)
    app.router.add_post("/v1/lookup/mobile-number", lookup_mobile_number)
    app.router.add_post("/v1/lookup/credit-party-benefits", credit_party_benefits)
    app.router.add_get("/v1/products", products)
    app.router.add_get(r"/v1/products/{product_id:\d+}", product_by_id)
    app.router.add_get("/v1/balances", balances)
    app.router.add_post("/v1/async/transactions", create_transaction)
    app.router.add_post("/v1/async/transactions/{transaction_id}/confirm", confirm_transaction)
    app.router.add_post("/v1/transactions/{transaction_id}/cancel", cancel_transaction)
    app.router.add_get("/v1/transactions/{transaction_id}", transaction_by_id)
    app.router.add_get("/v1/transactions", list_transactions)
    inspection.add_routes(app)
    app.router.add_get("/healthz", lambda request: asyncio.sleep(0, web.json_response({"status": "ok"})))
    return app
