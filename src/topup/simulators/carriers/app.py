"""HTTP JSON API of the carrier simulator: the top-up gateways of Proximus, Orange Belgium, BASE and Telenet.

    POST /v1/networks/{network}/topups                      top up (idempotent by `reference`)
    GET  /v1/networks/{network}/topups/{reference}          status of a reference
    POST /v1/networks/{network}/topups/{reference}/cancel   void a reference (or learn it was applied)
    GET  /v1/networks/{network}/topups?limit=&after=        confirmed top-ups, for reconciliation
    GET  /v1/networks/{network}/lines/{msisdn}/balance      balance and validity of a line
    POST /v1/networks/{network}/lines/{msisdn}/purchases    buy a plan from the line's balance (idempotent)
    GET  /v1/summary   GET|POST /v1/admin/faults            inspection and runtime fault settings
    GET  /healthz                                           liveness, without authentication

Everything but /healthz needs `Authorization: Bearer <key>`. Latency applies to every network call; injected
errors and timeouts only to top-ups and purchases, whose effect is decided (atomically) on arrival, never
later.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from topup.simulators.carriers.faults import Draw, FaultBoard, FaultError
from topup.simulators.carriers.numbering import NETWORKS, locate
from topup.simulators.carriers.state import CarrierState, Purchase, Topup

STATE: Final = web.AppKey("state", CarrierState)
FAULTS: Final = web.AppKey("faults", FaultBoard)
TIMEOUT_SLEEP_S: Final = web.AppKey("timeout_sleep_s", float)
MAX_AMOUNT_MINOR: Final = 100_000  # EUR 1000: more than any prepaid top-up
MAX_REFERENCE_LENGTH: Final = 100

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(http_status: int, /, **body: Any) -> web.Response:
    return web.json_response(body, status=http_status)


def _rejected(status: int, code: str) -> web.Response:
    return _answer(status, status="rejected", code=code)


def _topup_body(topup: Topup) -> dict[str, Any]:
    if topup.status == "cancelled":
        return {"reference": topup.reference, "status": "cancelled"}
    return {
        "reference": topup.reference,
        "status": "confirmed",
        "transaction_id": topup.transaction_id,
        "msisdn": topup.msisdn,
        "amount_minor": topup.amount_minor,
        "currency": topup.currency,
        "balance_minor": topup.balance_minor,
    }


def _auth_middleware(api_key: str) -> Any:
    expected = f"Bearer {api_key}".encode()

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != "/healthz":
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _answer(401, status="rejected", code="unauthorized")
        return await handler(request)

    return authenticate


async def _network(request: web.Request) -> str | web.Response:
    """The path's network, after the configured latency; an error response for an unknown network."""
    network = request.match_info["network"]
    if network not in NETWORKS:
        return _answer(404, status="not_found", code="unknown_network")
    latency_ms = request.app[FAULTS].get(network).latency_ms
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    return network


def _validate(body: object) -> tuple[str, str, int, str] | None:
    """(reference, msisdn, amount_minor, currency) from a well-formed top-up request, else None."""
    if not isinstance(body, dict):
        return None
    reference, msisdn = body.get("reference"), body.get("msisdn")
    amount, currency = body.get("amount_minor"), body.get("currency", "EUR")
    if not isinstance(reference, str) or not 0 < len(reference) <= MAX_REFERENCE_LENGTH:
        return None
    if not isinstance(msisdn, str) or not isinstance(currency, str):
        return None
    if not isinstance(amount, int) or isinstance(amount, bool):
        return None
    return reference, msisdn, amount, currency


def _replay(existing: Topup, msisdn: str, amount_minor: int, currency: str) -> web.Response:
    """The answer to a reference seen before: the first result, or why it cannot be given."""
    if existing.status == "cancelled":
        return _rejected(422, "cancelled")
    if (existing.msisdn, existing.amount_minor, existing.currency) != (msisdn, amount_minor, currency):
        return _rejected(409, "reference_conflict")
    return _answer(200, **_topup_body(existing))


def _process(state: CarrierState, network: str, request: tuple[str, str, int, str]) -> web.Response:
    """Idempotency check and credit in one synchronous step: no other request can interleave."""
    reference, msisdn, amount_minor, currency = request
    subscriber = locate(msisdn)
    existing = state.find(network, reference)
    if existing is not None:
        return _replay(existing, subscriber.e164 or msisdn, amount_minor, currency)
    if currency != "EUR" or not 0 < amount_minor <= MAX_AMOUNT_MINOR:
        return _rejected(422, "invalid_amount")
    if subscriber.e164 is None:
        return _rejected(422, "invalid_msisdn")
    if subscriber.network != network:
        return _rejected(422, "not_on_network")
    today = datetime.now(UTC).date()
    topup = state.apply(
        network, reference, msisdn=subscriber.e164, amount_minor=amount_minor, currency=currency, today=today
    )
    return _answer(200, **_topup_body(topup))


async def topup(request: web.Request) -> web.Response:
    network = await _network(request)
    if isinstance(network, web.Response):
        return network
    try:
        parsed = _validate(await request.json())
    except ValueError:
        parsed = None
    if parsed is None:
        return _rejected(400, "invalid_request")
    draw = request.app[FAULTS].draw(network)
    if draw is Draw.ERROR:
        return _answer(503, status="retry", code="system_error")
    if draw is Draw.NORMAL:
        return _process(request.app[STATE], network, parsed)
    # A timeout: the effect is decided and made now; only the answer is late (past any client's patience).
    response = _process(request.app[STATE], network, parsed) if draw is Draw.TIMEOUT_APPLIED else None
    await asyncio.sleep(request.app[TIMEOUT_SLEEP_S])
    return response if response is not None else _answer(504, status="unknown", code="timeout")


def _purchase_body(purchase: Purchase) -> dict[str, Any]:
    return {
        "reference": purchase.reference,
        "status": "confirmed",
        "plan_code": purchase.plan_code,
        "price_minor": purchase.price_minor,
        "balance_minor": purchase.balance_minor,
        "currency": "EUR",
    }


def _validate_purchase(body: object) -> tuple[str, str, int] | None:
    """(reference, plan_code, price_minor) from a well-formed purchase request, else None."""
    if not isinstance(body, dict):
        return None
    reference, plan_code, price = body.get("reference"), body.get("plan_code"), body.get("price_minor")
    if not isinstance(reference, str) or not 0 < len(reference) <= MAX_REFERENCE_LENGTH:
        return None
    if not isinstance(plan_code, str) or not plan_code:
        return None
    if not isinstance(price, int) or isinstance(price, bool):
        return None
    return reference, plan_code, price


def _process_purchase(
    state: CarrierState, network: str, msisdn: str, request: tuple[str, str, int]
) -> web.Response:
    """Idempotency check and debit in one synchronous step: no other request can interleave."""
    reference, plan_code, price_minor = request
    subscriber = locate(msisdn)
    existing = state.find_purchase(network, reference)
    if existing is not None:
        if (existing.msisdn, existing.plan_code, existing.price_minor) != (
            subscriber.e164 or msisdn,
            plan_code,
            price_minor,
        ):
            return _rejected(409, "reference_conflict")
        return _answer(200, **_purchase_body(existing))
    if not 0 < price_minor <= MAX_AMOUNT_MINOR:
        return _rejected(422, "invalid_amount")
    if subscriber.e164 is None:
        return _rejected(422, "invalid_msisdn")
    if subscriber.network != network:
        return _rejected(422, "not_on_network")
    purchase = state.debit(
        network, reference, msisdn=subscriber.e164, plan_code=plan_code, price_minor=price_minor
    )
    if purchase is None:
        return _rejected(422, "insufficient_balance")
    return _answer(200, **_purchase_body(purchase))


async def purchase(request: web.Request) -> web.Response:
    network = await _network(request)
    if isinstance(network, web.Response):
        return network
    try:
        parsed = _validate_purchase(await request.json())
    except ValueError:
        parsed = None
    if parsed is None:
        return _rejected(400, "invalid_request")
    state, msisdn = request.app[STATE], request.match_info["msisdn"]
    draw = request.app[FAULTS].draw(network)
    if draw is Draw.ERROR:
        return _answer(503, status="retry", code="system_error")
    if draw is Draw.NORMAL:
        return _process_purchase(state, network, msisdn, parsed)
    response = _process_purchase(state, network, msisdn, parsed) if draw is Draw.TIMEOUT_APPLIED else None
    await asyncio.sleep(request.app[TIMEOUT_SLEEP_S])
    return response if response is not None else _answer(504, status="unknown", code="timeout")


async def topup_status(request: web.Request) -> web.Response:
    network = await _network(request)
    if isinstance(network, web.Response):
        return network
    found = request.app[STATE].find(network, request.match_info["reference"])
    if found is None:
        return _answer(404, status="not_found")
    return _answer(200, **_topup_body(found))


async def cancel(request: web.Request) -> web.Response:
    network = await _network(request)
    if isinstance(network, web.Response):
        return network
    return _answer(200, **_topup_body(request.app[STATE].cancel(network, request.match_info["reference"])))


async def list_topups(request: web.Request) -> web.Response:
    network = await _network(request)
    if isinstance(network, web.Response):
        return network
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 1000)
        after = request.query.get("after", "")
        after_seq = int(after.removeprefix("tx_")) if after else 0
    except ValueError:
        return _rejected(400, "invalid_request")
    topups = request.app[STATE].confirmed(network, after_seq, limit)
    next_after = topups[-1].transaction_id if len(topups) == limit else None
    return _answer(200, topups=[_topup_body(t) for t in topups], next_after=next_after)


async def balance(request: web.Request) -> web.Response:
    network = await _network(request)
    if isinstance(network, web.Response):
        return network
    subscriber = locate(request.match_info["msisdn"])
    if subscriber.e164 is None:
        return _answer(422, status="rejected", code="invalid_msisdn")
    if subscriber.network != network:
        return _answer(404, status="rejected", code="not_on_network")
    line = request.app[STATE].line(subscriber.e164)
    return _answer(
        200,
        msisdn=subscriber.e164,
        network=network,
        balance_minor=line.balance_minor if line else 0,
        currency="EUR",
        valid_until=line.valid_until if line else None,
    )


async def summary(request: web.Request) -> web.Response:
    return _answer(200, networks=request.app[STATE].summary())


async def get_faults(request: web.Request) -> web.Response:
    return _answer(200, networks=request.app[FAULTS].as_json())


async def set_faults(request: web.Request) -> web.Response:
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise FaultError("expected a JSON object")
        request.app[FAULTS].update(changes)
    except ValueError as exc:  # FaultError is a ValueError, and so is bad JSON
        return _answer(400, status="rejected", code="invalid_request", message=str(exc))
    return _answer(200, networks=request.app[FAULTS].as_json())


async def healthz(request: web.Request) -> web.Response:
    return _answer(200, status="ok")


def build_app(
    state: CarrierState, faults: FaultBoard, api_key: str, timeout_sleep_s: float
) -> web.Application:
    app = web.Application(middlewares=[_auth_middleware(api_key)])
    app[STATE], app[FAULTS], app[TIMEOUT_SLEEP_S] = state, faults, timeout_sleep_s
    base = "/v1/networks/{network}"
    app.router.add_post(f"{base}/topups", topup)
    app.router.add_get(f"{base}/topups", list_topups)
    app.router.add_get(f"{base}/topups/{{reference}}", topup_status)
    app.router.add_post(f"{base}/topups/{{reference}}/cancel", cancel)
    app.router.add_get(f"{base}/lines/{{msisdn}}/balance", balance)
    app.router.add_post(f"{base}/lines/{{msisdn}}/purchases", purchase)
    app.router.add_get("/v1/summary", summary)
    app.router.add_get("/v1/admin/faults", get_faults)
    app.router.add_post("/v1/admin/faults", set_faults)
    app.router.add_get("/healthz", healthz)
    return app
