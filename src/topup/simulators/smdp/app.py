"""HTTP API of the SM-DP+ simulator: ES2+ for the operator, phone hooks, inspection and faults.

    POST /gsma/rsp2/es2plus/{downloadOrder,confirmOrder,cancelOrder,releaseProfile}   ES2+ (SGP.22)
    POST /sim/download  POST /sim/delete  GET /sim/profiles/{iccid}                  phone hooks (device.py)
    GET|POST /admin/faults  GET|POST /admin/pool                                     inspection and faults
    GET  /healthz                                                                    liveness

ES2+ and /admin need `Authorization: Bearer <key>` (401 otherwise). An ES2+ request needs `Content-Type:
application/json` and `X-Admin-Protocol: gsma/rsp/v2.x.y`, else HTTP 400; every ES2+ reply carries
`X-Admin-Protocol: gsma/rsp/v2.5.0`. A function's outcome, success or failure, is HTTP 200 with
`header.functionExecutionStatus`; HTTP 503 means "unavailable, nothing done, try again" (injected faults).
Answers are kept by (requester, function, functionCallIdentifier) with a hash of the request body: the same
call repeated replays the first answer; the identifier reused with another body is refused (Failed, 1.6/3.3)
and changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from topup.simulators.smdp import codes, device, functions
from topup.simulators.smdp.codes import Es2Error
from topup.simulators.smdp.context import CONTEXT, CallIdReused, Context
from topup.simulators.smdp.faults import FaultError
from topup.simulators.smdp.notifier import PROTOCOL

ES2_PREFIX: Final = "/gsma/rsp2/es2plus/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Function = Callable[[Context, functions.Body], dict[str, Any]]

FUNCTIONS: Final[dict[str, Function]] = {
    "downloadOrder": lambda ctx, body: functions.download_order(ctx.state, body),
    "confirmOrder": lambda ctx, body: functions.confirm_order(ctx.state, body, ctx.smdp_address),
    "cancelOrder": lambda ctx, body: functions.cancel_order(ctx.state, body),
    "releaseProfile": lambda ctx, body: functions.release_profile(ctx.state, body),
}


def _status(error: Es2Error | None) -> dict[str, Any]:
    if error is None:
        return {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}}
    failed = {"status": "Failed", "statusCodeData": error.status_code_data()}
    return {"header": {"functionExecutionStatus": failed}}


def _middleware(api_key: str) -> Any:
    expected = f"Bearer {api_key}".encode()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        is_es2 = request.path.startswith(ES2_PREFIX)
        if is_es2 or request.path.startswith("/admin/"):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                response: web.StreamResponse = web.json_response({"error": "unauthorized"}, status=401)
            else:
                response = await handler(request)
        else:
            response = await handler(request)
        if is_es2 and not response.prepared:
            response.headers["X-Admin-Protocol"] = PROTOCOL
        return response

    return guard


def _transport_refusal(request: web.Request) -> Es2Error | None:
    """HTTP binding checks (SGP.22 §6.5): JSON content and a v2 admin protocol."""
    if request.content_type != "application/json":
        return codes.invalid("Content-Type", "must be application/json")
    if not request.headers.get("X-Admin-Protocol", "").startswith("gsma/rsp/v2."):
        return codes.invalid("X-Admin-Protocol", "must be gsma/rsp/v2.x.y")
    return None


def _call_key(function: str, body: object) -> tuple[str, str, str] | Es2Error:
    """(requester, function, functionCallIdentifier) from the mandatory request header."""
    header = body.get("header") if isinstance(body, dict) else None
    if not isinstance(header, dict):
        return codes.missing("header")
    parts = []
    for name in ("functionRequesterIdentifier", "functionCallIdentifier"):
        value = header.get(name)
        if not isinstance(value, str) or not value:
            return codes.missing(f"header.{name}")
        parts.append(value)
    return parts[0], function, parts[1]


def _request_hash(body: object) -> str:
    """The same request, whatever its key order or spacing, hashes the same."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lose(request: web.Request) -> web.StreamResponse:
    """Drop the connection without answering: the effect is made, the caller learns nothing."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=204)  # never reaches the caller


async def es2plus(request: web.Request) -> web.StreamResponse:
    ctx, function = request.app[CONTEXT], request.match_info["function"]
    if function not in FUNCTIONS:
        return web.json_response({"error": "unknown ES2+ function"}, status=404)
    refusal = _transport_refusal(request)
    if refusal is not None:
        return web.json_response(_status(refusal), status=400)
    if ctx.faults.faults.latency_ms:
        await asyncio.sleep(ctx.faults.faults.latency_ms / 1000)
    if ctx.faults.unavailable():
        return web.json_response({"error": "unavailable", "message": "SM-DP+ unavailable, retry"}, status=503)
    try:
        body = await request.json()
    except ValueError:
        return web.json_response(_status(codes.invalid("body", "not JSON")), status=400)
    key = _call_key(function, body)
    if isinstance(key, Es2Error):
        return web.json_response(_status(key))
    request_hash = _request_hash(body)
    try:
        answer = ctx.answers.get(key, request_hash)
    except CallIdReused:
        return web.json_response(_status(codes.call_id_reused(key[2])))  # not kept: the first answer stays
    if answer is None:
        try:
            answer = {**_status(None), **FUNCTIONS[function](ctx, body)}
        except Es2Error as error:
            answer = _status(error)
        ctx.answers.put(key, request_hash, answer)
    if ctx.faults.lose_answer():
        return _lose(request)
    return web.json_response(answer)


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTEXT].faults.as_json())


async def set_faults(request: web.Request) -> web.Response:
    faults = request.app[CONTEXT].faults
    try:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise FaultError("expected a JSON object")
        faults.update(changes)
    except ValueError as exc:  # FaultError is a ValueError, and so is bad JSON
        return web.json_response({"error": "invalid_request", "message": str(exc)}, status=400)
    return web.json_response(faults.as_json())


def _pool_summary(ctx: Context) -> dict[str, Any]:
    return {
        "pools": ctx.state.pools(),
        "cached_answers": len(ctx.answers),
        "replayed_answers": ctx.answers.replays,
        "refused_call_id_reuses": ctx.answers.refused_reuses,
        "notifications": ctx.notifier.stats(),
    }


async def get_pool(request: web.Request) -> web.Response:
    return web.json_response(_pool_summary(request.app[CONTEXT]))


async def set_pool(request: web.Request) -> web.Response:
    """`{"profileType", "count"}`: the pool then holds exactly `count` Available profiles."""
    ctx = request.app[CONTEXT]
    try:
        body = await request.json()
    except ValueError:
        body = None
    profile_type = body.get("profileType") if isinstance(body, dict) else None
    count = body.get("count") if isinstance(body, dict) else None
    if not isinstance(profile_type, str) or not profile_type or not isinstance(count, int) or count < 0:
        message = 'expected {"profileType": "BE-DATA", "count": 0..}'
        return web.json_response({"error": "invalid_request", "message": message}, status=400)
    ctx.state.resize(profile_type, count)
    return web.json_response(_pool_summary(ctx))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app(ctx: Context, api_key: str) -> web.Application:
    app = web.Application(middlewares=[_middleware(api_key)])
    app[CONTEXT] = ctx
    app.router.add_post(ES2_PREFIX + "{function}", es2plus)
    device.add_routes(app)
    app.router.add_get("/admin/faults", get_faults)
    app.router.add_post("/admin/faults", set_faults)
    app.router.add_get("/admin/pool", get_pool)
    app.router.add_post("/admin/pool", set_pool)
    app.router.add_get("/healthz", healthz)
    app.on_startup.append(lambda app: app[CONTEXT].notifier.start())
    app.on_cleanup.append(lambda app: app[CONTEXT].notifier.close())
    return app
