"""The simulator's own routes (not DVS): a line's credit and bundles, faults, the float, a reversal.

GET  /sim/lines/{msisdn}               {"msisdn", "credit_minor", "bundles": [...]}
GET|POST /sim/faults                   {"latency_ms", "error_rate", "timeout_rate"}
POST /sim/balance                      {"available_minor"}: set the float (a low-float test)
POST /sim/transactions/{id}/reverse    DT One's rare manual reversal of a COMPLETED transaction
GET  /sim/callbacks                    the callbacks sent: [[id, status, HTTP status], ...]
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from topup.simulators.carriers.faults import FaultError, Faults
from topup.simulators.dtone.outcomes import CLOCK, FAULTS, STATE, notify
from topup.simulators.dtone.wire import error, iso, transaction_json


async def line(request: web.Request) -> web.Response:
    msisdn = request.match_info["msisdn"]
    found = request.app[STATE].lines.get(msisdn)
    bundles = [] if found is None else [
        {"product_id": b.product_id, "name": b.name, "data_total_mb": b.data_total_mb,
         "data_left_mb": b.data_left_mb, "unlimited": b.unlimited, "expires_at": iso(b.expires_at)}
        for b in found.bundles
    ]  # fmt: skip
    credit = found.credit_cents if found else 0
    return web.json_response({"msisdn": msisdn, "credit_minor": credit, "bundles": bundles})


async def get_faults(request: web.Request) -> web.Response:
    board = request.app[FAULTS]
    return web.json_response({**asdict(board.faults), "drawn": board.drawn})


async def set_faults(request: web.Request) -> web.Response:
    board = request.app[FAULTS]
    try:
        changes: Any = await request.json()
        if not isinstance(changes, dict):
            raise FaultError("expected a JSON object")
        if "seed" in changes:  # draw afresh from this seed (a test that wants each fault to happen)
            board.reseed(changes.pop("seed"))
        board.faults = Faults(**{**asdict(board.faults), **changes})
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(asdict(board.faults))


async def set_balance(request: web.Request) -> web.Response:
    body = await request.json()
    available = body.get("available_minor") if isinstance(body, dict) else None
    if not isinstance(available, int):
        return web.json_response({"error": "available_minor is an integer"}, status=400)
    request.app[STATE].available_cents = available
    return web.json_response({"available_minor": available})


async def reverse(request: web.Request) -> web.Response:
    state = request.app[STATE]
    tx = state.transactions.get(int(request.match_info["transaction_id"]))
    if tx is None or tx.status_class != "COMPLETED":
        return error(1008004, "no completed transaction with this id")
    state.move(tx, "REVERSED")
    await notify(request.app[CLOCK], tx)
    return web.json_response(transaction_json(tx))


async def callbacks(request: web.Request) -> web.Response:
    return web.json_response(request.app[CLOCK].callbacks)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/sim/lines/{msisdn}", line)
    app.router.add_get("/sim/faults", get_faults)
    app.router.add_post("/sim/faults", set_faults)
    app.router.add_post("/sim/balance", set_balance)
    app.router.add_post(r"/sim/transactions/{transaction_id:\d+}/reverse", reverse)
    app.router.add_get("/sim/callbacks", callbacks)
