"""HTTP JSON API of the carrier simulator: the top-up gateways of Proximus, Orange Belgium, BASE and Telenet.

    POST /v1/networks/{network}/topups                      top up (idempotent by `reference`)
    GET  /v1/networks/{network}/topups/{reference}          status of a reference (top-up or activation)
    POST /v1/networks/{network}/topups/{reference}/cancel   void a reference (or learn it was applied)
    GET  /v1/networks/{network}/topups?limit=&after=        confirmed top-ups, for reconciliation
    GET  /v1/networks/{network}/products                    the network's product catalogue
    POST /v1/networks/{network}/activations                 activate a product on a line (idempotent)
    GET  /v1/networks/{network}/activations?limit=&after=   confirmed activations, for reconciliation
    GET  /v1/networks/{network}/activations/{reference}     (and .../cancel) the same as under topups/
    GET  /v1/networks/{network}/lines/{msisdn}/balance      balance, validity and bundles of a line
    POST /v1/networks/{network}/lines/{msisdn}/purchases    buy a bundle from the line's balance (idempotent)
    GET  /v1/summary   GET|POST /v1/admin/faults            inspection and runtime fault settings
    POST /v1/admin/usage   POST /v1/admin/clock             use a line's data; move the carriers' clock on
    GET  /healthz                                           liveness, without authentication

Everything but /healthz needs `Authorization: Bearer <key>`. Latency applies to every network call; injected
errors and timeouts only to top-ups, activations and purchases, whose effect is decided (atomically) on
arrival, never later. Top-ups and activations share one reference space per network.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from topup.simulators.carriers import bundles
from topup.simulators.carriers.common import (
    CLOCK,
    FAULTS,
    MAX_AMOUNT_MINOR,
    STATE,
    TIMEOUT_SLEEP_S,
    Clock,
    answer,
    faulty_write,
    network_of,
    rejected,
    valid_integer,
    valid_reference,
)
from topup.simulators.carriers.faults import FaultBoard, FaultError
from topup.simulators.carriers.numbering import locate
from topup.simulators.carriers.state import Activation, CarrierState, Topup

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _topup_body(topup: Topup | Activation) -> dict[str, Any]:
    if isinstance(topup, Activation):
        return bundles.activation_body(topup)
    if topup.status == "cancelled":
        return {"reference": topup.reference, "status": "cancelled"}
    return {
        "reference": topup.reference,
        "status": "confirmed",
        "kind": "topup",
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
                return answer(401, status="rejected", code="unauthorized")
        return await handler(request)

    return authenticate


def _validate(body: object) -> tuple[str, str, int, str] | None:
    """(reference, msisdn, amount_minor, currency) from a well-formed top-up request, else None."""
    if not isinstance(body, dict):
        return None
    reference, msisdn = body.get("reference"), body.get("msisdn")
    amount, currency = body.get("amount_minor"), body.get("currency", "EUR")
    if not valid_reference(reference) or not isinstance(msisdn, str) or not isinstance(currency, str):
        return None
    if not valid_integer(amount):
        return None
    return str(reference), msisdn, int(amount), currency


def _replay(existing: Topup, msisdn: str, amount_minor: int, currency: str) -> web.Response:
    """The answer to a reference seen before: the first result, or why it cannot be given."""
    if existing.status == "cancelled":
        return rejected(422, "cancelled")
    if (existing.msisdn, existing.amount_minor, existing.currency) != (msisdn, amount_minor, currency):
        return rejected(409, "reference_conflict")
    return answer(200, **_topup_body(existing))


def _process(state: CarrierState, network: str, request: tuple[str, str, int, str]) -> web.Response:
    """Idempotency check and credit in one synchronous step: no other request can interleave."""
    reference, msisdn, amount_minor, currency = request
    subscriber = locate(msisdn)
    if state.find_activation(network, reference) is not None:
        return rejected(409, "reference_conflict")
    existing = state.find(network, reference)
    if existing is not None:
        return _replay(existing, subscriber.e164 or msisdn, amount_minor, currency)
    if currency != "EUR" or not 0 < amount_minor <= MAX_AMOUNT_MINOR:
        return rejected(422, "invalid_amount")
    if subscriber.e164 is None:
        return rejected(422, "invalid_msisdn")
    if subscriber.network != network:
        return rejected(422, "not_on_network")
    today = datetime.now(UTC).date()
    topup = state.apply(
        network, reference, msisdn=subscriber.e164, amount_minor=amount_minor, currency=currency, today=today
    )
    return answer(200, **_topup_body(topup))


topup = faulty_write(
    lambda _request, body: _validate(body),
    lambda request, network, parsed: _process(request.app[STATE], network, parsed),
)


def _find_any(state: CarrierState, network: str, reference: str) -> Topup | Activation | None:
    return state.find(network, reference) or state.find_activation(network, reference)


async def topup_status(request: web.Request) -> web.Response:
    network = await network_of(request)
    if isinstance(network, web.Response):
        return network
    found = _find_any(request.app[STATE], network, request.match_info["reference"])
    if found is None:
        return answer(404, status="not_found")
    return answer(200, **_topup_body(found))


async def cancel(request: web.Request) -> web.Response:
    network = await network_of(request)
    if isinstance(network, web.Response):
        return network
    return answer(200, **_topup_body(request.app[STATE].cancel(network, request.match_info["reference"])))


def _listing(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`GET .../topups` or `.../activations?limit=&after=`: the confirmed ones in the order they were
    applied, after a transaction id, for reconciliation."""

    async def handle(request: web.Request) -> web.Response:
        network = await network_of(request)
        if isinstance(network, web.Response):
            return network
        try:
            limit = min(max(int(request.query.get("limit", "100")), 1), 1000)
            after = request.query.get("after", "")
            after_seq = int(after.removeprefix("tx_")) if after else 0
        except ValueError:
            return rejected(400, "invalid_request")
        state: CarrierState = request.app[STATE]
        found: list[Topup] | list[Activation] = (
            state.confirmed(network, after_seq, limit)
            if kind == "topups"
            else state.activations(network, after_seq, limit)
        )
        next_after = found[-1].transaction_id if len(found) == limit else None
        return answer(200, **{kind: [_topup_body(item) for item in found]}, next_after=next_after)

    return handle


async def balance(request: web.Request) -> web.Response:
    network = await network_of(request)
    if isinstance(network, web.Response):
        return network
    subscriber = locate(request.match_info["msisdn"])
    if subscriber.e164 is None:
        return answer(422, status="rejected", code="invalid_msisdn")
    if subscriber.network != network:
        return answer(404, status="rejected", code="not_on_network")
    state, at = request.app[STATE], request.app[CLOCK].now()
    line = state.line(subscriber.e164)
    return answer(
        200,
        msisdn=subscriber.e164,
        network=network,
        balance_minor=line.balance_minor if line else 0,
        currency="EUR",
        valid_until=line.valid_until if line else None,
        bundles=[bundles.bundle_body(b) for b in state.bundles(subscriber.e164, at)],
    )


async def summary(request: web.Request) -> web.Response:
    return answer(200, networks=request.app[STATE].summary())


async def get_faults(request: web.Request) -> web.Response:
    return answer(200, networks=request.app[FAULTS].as_json())


async def set_faults(request: web.Request) -> web.Response:
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise FaultError("expected a JSON object")
        request.app[FAULTS].update(changes)
    except ValueError as exc:  # FaultError is a ValueError, and so is bad JSON
        return answer(400, status="rejected", code="invalid_request", message=str(exc))
    return answer(200, networks=request.app[FAULTS].as_json())


async def healthz(request: web.Request) -> web.Response:
    return answer(200, status="ok")


def build_app(
    state: CarrierState, faults: FaultBoard, api_key: str, timeout_sleep_s: float
) -> web.Application:
    app = web.Application(middlewares=[_auth_middleware(api_key)])
    app[STATE], app[FAULTS], app[TIMEOUT_SLEEP_S], app[CLOCK] = state, faults, timeout_sleep_s, Clock()
    base = "/v1/networks/{network}"
    app.router.add_post(f"{base}/topups", topup)
    app.router.add_get(f"{base}/topups", _listing("topups"))
    app.router.add_get(f"{base}/activations", _listing("activations"))
    for kind in ("topups", "activations"):  # one reference space: either path answers for both
        app.router.add_get(f"{base}/{kind}/{{reference}}", topup_status)
        app.router.add_post(f"{base}/{kind}/{{reference}}/cancel", cancel)
    app.router.add_get(f"{base}/products", bundles.products)
    app.router.add_post(f"{base}/activations", bundles.activate)
    app.router.add_get(f"{base}/lines/{{msisdn}}/balance", balance)
    app.router.add_post(f"{base}/lines/{{msisdn}}/purchases", bundles.purchase)
    app.router.add_get("/v1/summary", summary)
    app.router.add_get("/v1/admin/faults", get_faults)
    app.router.add_post("/v1/admin/faults", set_faults)
    app.router.add_post("/v1/admin/usage", bundles.use_data)
    app.router.add_post("/v1/admin/clock", bundles.move_clock)
    app.router.add_get("/healthz", healthz)
    return app
