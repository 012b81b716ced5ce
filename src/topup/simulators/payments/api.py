"""The sandbox's JSON API under `/v1` (Stripe-like), its health check and its middlewares.

Errors are answered as `{"error": {"type", "code", "message", "param"?}}` with Stripe's statuses:
400 invalid request, 401 bad API key, 404 unknown object, 409 idempotency key reused.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from topup.simulators.payments.idempotency import IdempotencyStore
from topup.simulators.payments.state import (
    CURRENCY_SYMBOLS,
    MAX_AMOUNT_MINOR,
    METHOD_NAMES,
    Json,
    NewIntent,
    PaymentBook,
    SimulatorError,
    invalid,
)

MAX_PAGE = 100
_dumps = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)


def json_answer(body: Json, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def raw_answer(body: bytes, status: int = 200, replayed: bool = False) -> web.Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def middlewares(api_key: str, latency_ms: int) -> list[Middleware]:
    """Added latency, Stripe-like JSON errors and bearer authentication of `/v1`."""

    @web.middleware
    async def latency(request: web.Request, handler: Handler) -> web.StreamResponse:
        if latency_ms > 0 and request.path != "/healthz":
            await asyncio.sleep(latency_ms / 1000)
        return await handler(request)

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except SimulatorError as exc:
            return json_answer(exc.body(), exc.status)

    expected = f"Bearer {api_key}".encode()

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/"):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise SimulatorError(401, "authentication_error", "invalid_api_key", "Invalid API key.")
        return await handler(request)

    return [latency, errors, authenticate]


async def _json_body(request: web.Request) -> Json:
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid("invalid_json", "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise invalid("invalid_json", "The request body must be a JSON object.")
    return body


def _positive_int(body: Json, name: str, *, required: bool) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid("parameter_missing", f"Missing required param: {name}.", name)
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid("parameter_invalid_integer", f"{name} must be an integer in minor units.", name)
    if value <= 0:
        raise invalid("amount_too_small", f"{name} must be at least 1.", name)
    if value > MAX_AMOUNT_MINOR:
        raise invalid("amount_too_large", f"{name} must be at most {MAX_AMOUNT_MINOR}.", name)
    return value


def _text(body: Json, name: str, default: str | None = None) -> str | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise invalid("parameter_invalid_string", f"{name} must be a string.", name)
    return value


def _metadata(body: Json) -> dict[str, str]:
    value = body.get("metadata") or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid("parameter_invalid_metadata", "metadata must map strings to strings.", "metadata")
    return {str(k): str(v) for k, v in value.items()}


def parse_new_intent(body: Json) -> NewIntent:
    amount = _positive_int(body, "amount", required=True)
    assert amount is not None
    currency = (_text(body, "currency") or "").lower()
    if currency not in CURRENCY_SYMBOLS:
        raise invalid(
            "currency_not_supported", f"Currency must be one of {sorted(CURRENCY_SYMBOLS)}.", "currency"
        )
    method = _text(body, "payment_method", "card")
    if method not in METHOD_NAMES:
        raise invalid(
            "payment_method_unsupported",
            f"payment_method must be one of {sorted(METHOD_NAMES)}.",
            "payment_method",
        )
    return_url = _text(body, "return_url")
    if return_url is not None and not return_url.startswith(("http://", "https://")):
        raise invalid("url_invalid", "return_url must be an http(s) URL.", "return_url")
    return NewIntent(
        amount, currency, method, _text(body, "description", "") or "", _metadata(body), return_url
    )


class Api:
    """Handlers of the `/v1` API over one `PaymentBook`; `stats` adds webhook counters to the summary."""

    def __init__(self, book: PaymentBook, idempotency: IdempotencyStore, stats: Callable[[], Json]) -> None:
        self._book = book
        self._idempotency = idempotency
        self._stats = stats

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.health),
            web.post("/v1/payment_intents", self.create_intent),
            web.get("/v1/payment_intents", self.list_intents),
            web.get("/v1/payment_intents/{id}", self.get_intent),
            web.post("/v1/refunds", self.create_refund),
            web.get("/v1/balance_summary", self.balance_summary),
        ]

    async def health(self, _request: web.Request) -> web.Response:
        return json_answer({"status": "ok"})

    async def create_intent(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        key = request.headers.get("Idempotency-Key")
        scope = "POST /v1/payment_intents"
        stored = self._idempotency.replay(key, scope, body)
        if stored is not None:
            return raw_answer(stored.body, stored.status, replayed=True)
        answer = _dumps(self._book.create_intent(parse_new_intent(body)).to_json()).encode()
        self._idempotency.save(key, scope, body, 200, answer)
        return raw_answer(answer)

    async def get_intent(self, request: web.Request) -> web.Response:
        return json_answer(self._book.require(request.match_info["id"]).to_json())

    async def list_intents(self, request: web.Request) -> web.Response:
        """Creation order, oldest first, so that `starting_after` pages stay stable while intents arrive."""
        try:
            limit = int(request.query.get("limit", "10"))
        except ValueError as exc:
            raise invalid("parameter_invalid_integer", "limit must be an integer.", "limit") from exc
        if not 1 <= limit <= MAX_PAGE:
            raise invalid("parameter_invalid_integer", f"limit must be between 1 and {MAX_PAGE}.", "limit")
        intents, has_more = self._book.page(limit, request.query.get("starting_after"))
        data = [intent.to_json() for intent in intents]
        return json_answer(
            {"object": "list", "url": "/v1/payment_intents", "has_more": has_more, "data": data}
        )

    async def create_refund(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        key = request.headers.get("Idempotency-Key")
        scope = "POST /v1/refunds"
        stored = self._idempotency.replay(key, scope, body)
        if stored is not None:
            return raw_answer(stored.body, stored.status, replayed=True)
        intent_id = _text(body, "payment_intent")
        if not intent_id:
            raise invalid("parameter_missing", "Missing required param: payment_intent.", "payment_intent")
        amount = _positive_int(body, "amount", required=False)
        answer = _dumps(self._book.refund(intent_id, amount, _metadata(body)).to_json()).encode()
        self._idempotency.save(key, scope, body, 200, answer)
        return raw_answer(answer)

    async def balance_summary(self, _request: web.Request) -> web.Response:
        return json_answer({**self._book.summary(), "webhooks": self._stats()})
