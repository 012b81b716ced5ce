"""Stripe's REST API under `/v1` (the part Topup uses), over one `PaymentBook`.

Requests are form-encoded in Stripe's bracket notation (`forms`); answers are Stripe's JSON objects
(`objects`) and errors Stripe's body `{"error": {"type", "code", "message", "param", ...}}` with its
statuses: 400 invalid request or idempotency error, 401 bad key, 402 declined card, 404 unknown object,
409 key in use, 429/500 under injected faults. Every `POST` honours `Idempotency-Key` (`idempotency`).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import json
import random
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from topup.simulators.payments import objects
from topup.simulators.payments.errors import Json, SimulatorError, invalid, missing
from topup.simulators.payments.forms import FormError, Params, decode
from topup.simulators.payments.idempotency import IdempotencyStore
from topup.simulators.payments.locales import session_locale
from topup.simulators.payments.records import (
    CURRENCY_SYMBOLS,
    MAX_AMOUNT_MINOR,
    METHOD_CURRENCIES,
    TEST_CARDS,
    Confirmation,
    Intent,
    Session,
    new_id,
)
from topup.simulators.payments.state import PaymentBook

MAX_PAGE = 100
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
_dumps = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)


def json_answer(body: Json, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=_dumps(body), status=status, headers=headers, content_type="application/json")


def _authorized(header: str, api_key: str) -> bool:
    """`Bearer <key>`, or `Basic` with the key as user name (both are what Stripe accepts)."""
    scheme, _, value = header.partition(" ")
    given = value.strip()
    if scheme.lower() == "basic":
        try:
            given = base64.b64decode(given, validate=True).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.encode(), api_key.encode())


def middlewares(api_key: str) -> list[Middleware]:
    """Stripe's error bodies and authentication of `/v1` and the `/_sim` admin surface."""

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except SimulatorError as exc:
            return json_answer(exc.body(), exc.status)

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        protected = request.path.startswith(("/v1/", "/_sim/"))
        if protected and not _authorized(request.headers.get("Authorization", ""), api_key):
            raise SimulatorError(
                401, "invalid_request_error", "api_key_invalid",
                "Invalid API Key provided. Send it as 'Authorization: Bearer <key>'.",
            )  # fmt: skip
        return await handler(request)

    return [errors, authenticate]


# ---------------------------------------------------------------- parameters


def _int(params: Params, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise invalid("parameter_missing", f"Missing required param: {name}.", name)
        return None
    if not isinstance(value, str) or not value.isascii() or not value.lstrip("-").isdigit():
        raise invalid("parameter_invalid_integer", f"Invalid integer: {value}", name)
    return int(value)


def _amount(params: Params, *, required: bool) -> int | None:
    amount = _int(params, "amount", required=required)
    if amount is not None and not 1 <= amount <= MAX_AMOUNT_MINOR:
        raise invalid("amount_too_small" if amount < 1 else "amount_too_large", "Invalid amount.", "amount")
    return amount


def _text(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid("parameter_invalid_string", f"Invalid string: {name} must be a string.", name)
    return value or None


def _hash(params: Params, name: str) -> Json:
    value = params.get(name, {})
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid("parameter_invalid_object", f"Invalid hash: {name} must be a hash.", name)
    return value


def _metadata(params: Params) -> dict[str, str]:
    meta = _hash(params, "metadata")
    if not all(isinstance(v, str) for v in meta.values()):
        raise invalid("parameter_invalid_object", "Invalid metadata: values must be strings.", "metadata")
    return {str(k): str(v) for k, v in meta.items()}


def _list(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("parameter_invalid_array", f"Invalid array: {name} must be an array.", name)
    return [str(v) for v in value]


def _bool(params: Params, name: str) -> bool:
    value = params.get(name)
    if value in (None, "", "false"):
        return False
    if value == "true":
        return True
    raise invalid("parameter_invalid_boolean", f"Invalid boolean: {value}", name)


def _confirmation(params: Params, intent: Intent) -> Confirmation:
    """The method a confirmation uses (a test payment method id or `payment_method_data[type]`)."""
    pm_id = _text(params, "payment_method") or intent.payment_method
    data = _hash(params, "payment_method_data")
    options = _hash(params, "payment_method_options")
    if data:
        method = data.get("type")
        if not isinstance(method, str) or method not in METHOD_CURRENCIES:
            raise invalid(
                "parameter_invalid_string", f"Invalid payment_method_data[type]: {method}",
                "payment_method_data[type]",
            )  # fmt: skip
        behaviour, pm_id = ("three_d_secure" if method == "card" else "redirect"), new_id("pm")
    elif pm_id in TEST_CARDS:
        method, behaviour = "card", TEST_CARDS[pm_id]
    elif pm_id:
        raise missing("PaymentMethod", pm_id, "payment_method")
    else:
        raise invalid(
            "payment_intent_unexpected_state",
            "You cannot confirm this PaymentIntent because it's missing a payment method.",
            "payment_method",
        )
    return_url = _text(params, "return_url")
    if return_url is not None and not return_url.startswith(("http://", "https://")):
        raise invalid("url_invalid", "Not a valid URL", "return_url")
    if behaviour in {"three_d_secure", "redirect"} and not (return_url or intent.return_url):
        raise invalid(
            "parameter_missing",
            f"A return_url is required to confirm a PaymentIntent with a {method} payment method.",
            "return_url",
        )
    if method == "wechat_pay":
        wechat = {**_hash(intent.payment_method_options, "wechat_pay"), **_hash(options, "wechat_pay")}
        client = wechat.get("client")
        if client is None:
            raise invalid(
                "parameter_missing", "Missing required param: payment_method_options[wechat_pay][client].",
                "payment_method_options[wechat_pay][client]",
            )  # fmt: skip
        if client != "web" and not wechat.get("app_id"):
            raise invalid(
                "parameter_missing",
                f"payment_method_options[wechat_pay][app_id] is required when client is {client}.",
                "payment_method_options[wechat_pay][app_id]",
            )
    return Confirmation(method, pm_id, behaviour, return_url, options)


def _url(params: Params, name: str, *, required: bool = False) -> str | None:
    url = _text(params, name)
    if url is None and required:
        raise invalid("parameter_missing", f"Missing required param: {name}.", name)
    if url is not None and not url.startswith(("http://", "https://")):
        raise invalid("url_invalid", "Not a valid URL", name)
    return url


def _line_item(params: Params) -> tuple[int, str, str]:
    """The one line item Topup sends: amount, currency and product name from `price_data`."""
    items = params.get("line_items")
    if not isinstance(items, list) or not items:
        raise invalid(
            "parameter_missing", "Missing required param: line_items (payment mode needs at least one).",
            "line_items",
        )  # fmt: skip
    if len(items) != 1 or not isinstance(items[0], dict):
        raise invalid("parameter_invalid", "The simulator takes exactly one line item.", "line_items")
    item: Params = items[0]
    if _int(item, "quantity", required=True) != 1:
        raise invalid(
            "parameter_invalid_integer", "The simulator takes a quantity of 1.", "line_items[0][quantity]"
        )
    price = _hash(item, "price_data")
    unit_amount = _int(price, "unit_amount", required=True)
    if unit_amount is None or not 1 <= unit_amount <= MAX_AMOUNT_MINOR:
        raise invalid("amount_too_small", "Invalid unit_amount.", "line_items[0][price_data][unit_amount]")
    currency = (_text(price, "currency") or "").lower()
    if currency not in CURRENCY_SYMBOLS:
        raise invalid(
            "invalid_currency", f"Invalid currency: {currency}.", "line_items[0][price_data][currency]"
        )
    name = _text(_hash(price, "product_data"), "name")
    if not name:
        raise invalid(
            "parameter_missing", "Missing required param: line_items[0][price_data][product_data][name].",
            "line_items[0][price_data][product_data][name]",
        )  # fmt: skip
    return unit_amount, currency, name


def _session_params(params: Params) -> Params:
    """Check what Topup does not use is not asked for: payment mode, card only."""
    if _text(params, "mode") != "payment":
        raise invalid("parameter_invalid_string", "The simulator supports mode=payment only.", "mode")
    methods = _list(params, "payment_method_types") or ["card"]
    if methods != ["card"]:
        raise invalid(
            "parameter_invalid_array", "The simulator's Checkout takes card only.", "payment_method_types"
        )
    return _hash(params, "payment_intent_data")


def _created_gte(params: Params) -> int | None:
    created = params.get("created")
    if isinstance(created, dict):
        return _int(created, "gte")
    return None


def _limit(params: Params) -> int:
    limit = _int(params, "limit")
    if limit is None:
        return 10
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("parameter_invalid_integer", f"limit must be between 1 and {MAX_PAGE}.", "limit")
    return limit


# ---------------------------------------------------------------- handlers

Action = Callable[[Params, str | None], Json]


class Api:
    """Handlers of `/v1`; `faults` is read on every request, so `/_sim/faults` takes effect at once."""

    def __init__(self, book: PaymentBook, idempotency: IdempotencyStore, rng: random.Random) -> None:
        self._book = book
        self._idempotency = idempotency
        self._rng = rng
        # Customers and saved cards (customers.py) plug in here: a PaymentIntent for a customer, and the
        # check that a customer exists.
        self.for_customer: Action | None = None
        self.require_customer: Callable[[str], object] = lambda _customer: None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.health),
            web.post("/v1/payment_intents", self.create_intent),
            web.get("/v1/payment_intents", self.list_intents),
            web.get("/v1/payment_intents/{id}", self.get_intent),
            web.post("/v1/payment_intents/{id}", self.update_intent),
            web.post("/v1/payment_intents/{id}/confirm", self.confirm_intent),
            web.post("/v1/payment_intents/{id}/cancel", self.cancel_intent),
            web.post("/v1/checkout/sessions", self.create_session),
            web.get("/v1/checkout/sessions", self.list_sessions),
            web.get("/v1/checkout/sessions/{id}", self.get_session),
            web.post("/v1/checkout/sessions/{id}/expire", self.expire_session),
            web.post("/v1/refunds", self.create_refund),
            web.get("/v1/refunds", self.list_refunds),
            web.get("/v1/refunds/{id}", self.get_refund),
        ]

    async def health(self, _request: web.Request) -> web.Response:
        return json_answer({"status": "ok"})

    async def _faults(self) -> None:
        """Latency, then maybe an injected 500 before anything is done."""
        faults = self._book.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.error_rate > 0 and self._rng.random() < faults.error_rate:
            raise SimulatorError(500, "api_error", None, "An unknown error occurred (simulated fault).")

    async def _read(self, request: web.Request) -> Params:
        try:
            return decode(request.query_string) if request.method == "GET" else decode(await request.text())
        except (FormError, UnicodeDecodeError) as exc:
            param = exc.param if isinstance(exc, FormError) else ""
            raise invalid("parameter_invalid", f"Invalid request: {exc}", param or None) from exc

    async def _write(self, request: web.Request, action: Action) -> web.Response:
        """Run one POST under Stripe's idempotency rules and the injected faults."""
        params = await self._read(request)
        key = request.headers.get("Idempotency-Key") or None
        scope = f"{request.method} {request.path}"
        stored = self._idempotency.begin(key, scope, params)
        if stored is not None:
            headers = {"Idempotent-Replayed": "true", "Request-Id": new_id("req")}
            return web.Response(body=stored.body, status=stored.status, headers=headers,
                                content_type="application/json")  # fmt: skip
        try:
            await self._faults()
        except BaseException:
            self._idempotency.abandon(key)
            raise
        try:
            status, body = 200, action(params, key)
        except SimulatorError as exc:
            status, body = exc.status, exc.body()
        answer = _dumps(body).encode()
        self._idempotency.finish(key, scope, params, status, answer)
        faults = self._book.faults
        if faults.timeout_rate > 0 and self._rng.random() < faults.timeout_rate:
            await asyncio.sleep(faults.timeout_sleep_s)  # done, but the caller gives up waiting
        headers = {"Request-Id": new_id("req")}
        if key:
            headers["Idempotency-Key"] = key
        return web.Response(body=answer, status=status, headers=headers, content_type="application/json")

    async def _read_only(self, request: web.Request, action: Callable[[Params], Json]) -> web.Response:
        params = await self._read(request)
        await self._faults()
        return json_answer(action(params), headers={"Request-Id": new_id("req")})

    def _intent_answer(self, intent: Intent, params: Params) -> Json:
        body = objects.intent_json(intent)
        if "latest_charge" in _list(params, "expand") and intent.latest_charge:
            body["latest_charge"] = objects.charge_json(intent)
        return body

    # -------------------------------------------------------- payment intents

    async def create_intent(self, request: web.Request) -> web.Response:
        def action(params: Params, key: str | None) -> Json:
            if self.for_customer is not None and (params.get("customer") or params.get("off_session")):
                return self.for_customer(params, key)
            amount = _amount(params, required=True)
            currency = (_text(params, "currency") or "").lower()
            if not currency:
                raise invalid("parameter_missing", "Missing required param: currency.", "currency")
            if currency not in CURRENCY_SYMBOLS:
                raise invalid("invalid_currency", f"Invalid currency: {currency}.", "currency")
            methods = _list(params, "payment_method_types") or ["card"]
            assert amount is not None
            intent = self._book.create(
                amount, currency, methods, _text(params, "description"), _metadata(params),
                _hash(params, "payment_method_options"),
            )  # fmt: skip
            intent.return_url = _text(params, "return_url")
            self._book.keep(intent)
            if _bool(params, "confirm"):
                self._book.confirm(intent, _confirmation(params, intent), key)
            elif _text(params, "payment_method"):
                self._book.attach(intent, str(_text(params, "payment_method")))
            return self._intent_answer(intent, params)

        return await self._write(request, action)

    async def get_intent(self, request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]
        return await self._read_only(request, lambda p: self._intent_answer(self._book.require(intent_id), p))

    async def update_intent(self, request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]

        def action(params: Params, _key: str | None) -> Json:
            changes: Json = {"metadata": _metadata(params)} if "metadata" in params else {}
            if "description" in params:
                changes["description"] = _text(params, "description") or ""
            if "amount" in params:
                changes["amount"] = _amount(params, required=True)
            return self._intent_answer(self._book.update(self._book.require(intent_id), changes), params)

        return await self._write(request, action)

    async def confirm_intent(self, request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]

        def action(params: Params, key: str | None) -> Json:
            intent = self._book.require(intent_id)
            return self._intent_answer(self._book.confirm(intent, _confirmation(params, intent), key), params)

        return await self._write(request, action)

    async def cancel_intent(self, request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]

        def action(params: Params, key: str | None) -> Json:
            reason = _text(params, "cancellation_reason")
            intent = self._book.cancel(self._book.require(intent_id), reason, key)
            return self._intent_answer(intent, params)

        return await self._write(request, action)

    async def list_intents(self, request: web.Request) -> web.Response:
        def action(params: Params) -> Json:
            rows, more = self._book.page_intents(
                _created_gte(params), _text(params, "starting_after"), _limit(params)
            )
            expand = ["latest_charge"] if "data.latest_charge" in _list(params, "expand") else []
            data = [self._intent_answer(i, {"expand": expand}) for i in rows]
            return objects.list_json("/v1/payment_intents", data, more)

        return await self._read_only(request, action)

    # -------------------------------------------------------- checkout sessions

    def _session_answer(self, session: Session, params: Params) -> Json:
        intent = self._book.intents.get(session.payment_intent or "")
        expand = _list(params, "expand")
        if intent is None or not {"payment_intent", "payment_intent.latest_charge"} & set(expand):
            return objects.session_json(session)
        nested = ["latest_charge"] if "payment_intent.latest_charge" in expand else []
        return objects.session_json(session, self._intent_answer(intent, {"expand": nested}))

    async def create_session(self, request: web.Request) -> web.Response:
        def action(params: Params, _key: str | None) -> Json:
            locale, intent_data = session_locale(params.get("locale")), _session_params(params)
            amount, currency, name = _line_item(params)
            intent_meta = _metadata(intent_data)
            data: Json = {"metadata": intent_meta, "description": _text(intent_data, "description"),
                          "setup_future_usage": _text(intent_data, "setup_future_usage")}  # fmt: skip
            customer = _text(params, "customer")
            if customer:
                self.require_customer(customer)
            session = self._book.create_session(
                amount, currency, name, _metadata(params), data,
                (str(_url(params, "success_url", required=True)), _url(params, "cancel_url")),
                _text(params, "client_reference_id"), _int(params, "expires_at"),
            )  # fmt: skip
            session.customer = customer
            session.locale = locale
            self._book.keep(session)
            return self._session_answer(session, params)

        return await self._write(request, action)

    async def get_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["id"]
        return await self._read_only(
            request, lambda p: self._session_answer(self._book.require_session(session_id), p)
        )

    async def expire_session(self, request: web.Request) -> web.Response:
        session_id = request.match_info["id"]

        def action(params: Params, key: str | None) -> Json:
            session = self._book.expire_session(self._book.require_session(session_id), key)
            return self._session_answer(session, params)

        return await self._write(request, action)

    async def list_sessions(self, request: web.Request) -> web.Response:
        def action(params: Params) -> Json:
            rows, more = self._book.page_sessions(
                _text(params, "payment_intent"), _created_gte(params), _text(params, "starting_after"),
                _limit(params),
            )  # fmt: skip
            data = [self._session_answer(s, params) for s in rows]
            return objects.list_json("/v1/checkout/sessions", data, more)

        return await self._read_only(request, action)

    # -------------------------------------------------------- refunds

    async def create_refund(self, request: web.Request) -> web.Response:
        def action(params: Params, key: str | None) -> Json:
            intent_id, charge_id = _text(params, "payment_intent"), _text(params, "charge")
            if intent_id:
                intent = self._book.require(intent_id)
            elif charge_id:
                found = self._book.intent_of_charge(charge_id)
                if found is None:
                    raise missing("charge", charge_id, "charge")
                intent = found
            else:
                raise invalid(
                    "parameter_missing", "One of the following params should be provided for this request: "
                    "payment_intent or charge.", "payment_intent",
                )  # fmt: skip
            reason = _text(params, "reason")
            if reason is not None and reason not in REFUND_REASONS:
                raise invalid("parameter_invalid_string", f"Invalid reason: {reason}", "reason")
            amount = _amount(params, required=False)
            return objects.refund_json(self._book.refund(intent, amount, _metadata(params), reason, key))

        return await self._write(request, action)

    async def get_refund(self, request: web.Request) -> web.Response:
        refund_id = request.match_info["id"]
        return await self._read_only(
            request, lambda _p: objects.refund_json(self._book.require_refund(refund_id))
        )

    async def list_refunds(self, request: web.Request) -> web.Response:
        def action(params: Params) -> Json:
            rows, more = self._book.page_refunds(
                _text(params, "payment_intent"), _created_gte(params), _text(params, "starting_after"),
                _limit(params),
            )  # fmt: skip
            return objects.list_json("/v1/refunds", [objects.refund_json(r) for r in rows], more)

        return await self._read_only(request, action)
