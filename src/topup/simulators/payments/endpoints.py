"""Stripe's webhook endpoints: each one is sent, signed with its own secret, only the event types it enabled.

The endpoint named on the command line (`--webhook-url`, `--webhook-secret`, `--webhook-events`) is the
first; `/v1/webhook_endpoints` creates, retrieves, lists, updates and deletes endpoints as Stripe's API
does (`secret` only in the answer that creates one; `disabled=true` stops deliveries until re-enabled).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from topup.simulators.payments.errors import Json, invalid, missing
from topup.simulators.payments.forms import Params
from topup.simulators.payments.records import new_id
from topup.simulators.payments.store import BookStore, StoredEndpoint
from topup.simulators.payments.webhooks import WebhookDispatcher

ALL_EVENTS = "*"
# Stripe refuses a type it does not know; the simulator checks the shape of the name (`charge.refunded`).
_EVENT_TYPE = re.compile(r"[a-z_]+(\.[a-z_]+)+")
MAX_PAGE = 100

Write = Callable[[web.Request, Callable[[Params, str | None], Json]], Awaitable[web.Response]]
Read = Callable[[web.Request, Callable[[Params], Json]], Awaitable[web.Response]]


def parse_events(values: Sequence[str], param: str = "enabled_events") -> list[str]:
    """The enabled event types: `*` (every type) or event names; refused when empty or malformed."""
    events = [value.strip() for value in values if value.strip()]
    if not events:
        raise invalid("parameter_missing", f"Missing required param: {param}.", param)
    for index, name in enumerate(events):
        if name != ALL_EVENTS and not _EVENT_TYPE.fullmatch(name):
            raise invalid(
                "parameter_invalid_string",
                f"Invalid {param}[{index}]: {name!r} is not an event type (or * for all of them).",
                f"{param}[{index}]",
            )
    return list(dict.fromkeys(events))


@dataclass(slots=True)
class Endpoint:
    id: str
    url: str
    enabled_events: list[str]
    created: int
    dispatcher: WebhookDispatcher
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    disabled: bool = False
    secret: str = field(default="", repr=False)  # signs its events; kept so that a restart signs alike

    def stored(self) -> StoredEndpoint:
        return StoredEndpoint(self.id, self.url, self.secret, self.enabled_events, self.created,
                              self.description, self.metadata, self.disabled)  # fmt: skip

    def wants(self, event_type: str) -> bool:
        return not self.disabled and (ALL_EVENTS in self.enabled_events or event_type in self.enabled_events)

    def as_json(self, secret: str | None = None) -> Json:
        body: Json = {
            "id": self.id, "object": "webhook_endpoint", "api_version": None, "application": None,
            "created": self.created, "description": self.description, "enabled_events": self.enabled_events,
            "livemode": False, "metadata": self.metadata,
            "status": "disabled" if self.disabled else "enabled", "url": self.url,
        }  # fmt: skip
        if secret is not None:
            body["secret"] = secret
        return body


class WebhookEndpoints:
    """The endpoints and their dispatchers; `publish` sends an event to every endpoint that wants it."""

    def __init__(self, clock: Callable[[], int], store: BookStore | None = None) -> None:
        self._clock = clock
        self._endpoints: dict[str, Endpoint] = {}
        self._started = False
        self._store = store
        for kept in store.endpoints() if store else []:
            self._endpoints[kept.id] = Endpoint(
                kept.id, kept.url, kept.enabled_events, kept.created,
                WebhookDispatcher(kept.url, kept.secret), kept.description, kept.metadata, kept.disabled,
                kept.secret,
            )  # fmt: skip

    def add(self, url: str, secret: str, events: Sequence[str]) -> Endpoint:
        endpoint = Endpoint(new_id("we"), url, list(events), self._clock(), WebhookDispatcher(url, secret))
        endpoint.secret = secret
        self._endpoints[endpoint.id] = endpoint
        self._keep(endpoint)
        if self._started:
            endpoint.dispatcher.start()
        return endpoint

    def ensure(self, url: str, secret: str, events: Sequence[str]) -> Endpoint:
        """The command line's endpoint: the one kept for this URL (from before a restart) takes the flags'
        secret and events; else a new one. A restart never sends each event twice to the same URL."""
        for endpoint in self._endpoints.values():
            if endpoint.url == url:
                endpoint.enabled_events, endpoint.secret = list(events), secret
                endpoint.dispatcher = WebhookDispatcher(url, secret)
                self._keep(endpoint)
                return endpoint
        return self.add(url, secret, events)

    def _keep(self, endpoint: Endpoint) -> None:
        if self._store is not None:
            self._store.save_endpoint(endpoint.stored())

    def subscribers(self, event_type: str) -> list[Endpoint]:
        return [e for e in self._endpoints.values() if e.wants(event_type)]

    def publish(self, event: Json, copies: int = 1, delay_s: float = 0.0) -> None:
        for endpoint in self.subscribers(str(event["type"])):
            endpoint.dispatcher.publish(event, copies, delay_s)

    async def start(self) -> None:
        self._started = True
        for endpoint in self._endpoints.values():
            endpoint.dispatcher.start()

    async def close(self) -> None:
        await asyncio.gather(*(e.dispatcher.close() for e in self._endpoints.values()))

    def stats(self) -> Json:
        """The deliveries of every endpoint, summed (the keys of one dispatcher's `stats`)."""
        totals: Json = {"enabled": any(e.dispatcher.enabled for e in self._endpoints.values())}
        for key in ("pending", "delivered", "failed_attempts", "duplicates_sent"):
            totals[key] = sum(int(str(e.dispatcher.stats()[key])) for e in self._endpoints.values())
        totals["endpoints"] = len(self._endpoints)
        return totals

    # -------------------------------------------------------- /v1/webhook_endpoints

    def routes(self, write: Write, read: Read) -> list[web.RouteDef]:
        async def create(request: web.Request) -> web.Response:
            return await write(request, lambda params, _key: self._create(params))

        async def update(request: web.Request) -> web.Response:
            endpoint_id = request.match_info["id"]
            return await write(request, lambda params, _key: self._update(endpoint_id, params))

        async def delete(request: web.Request) -> web.Response:
            endpoint_id = request.match_info["id"]
            closing: list[Endpoint] = []
            answer = await write(request, lambda _params, _key: self._delete(endpoint_id, closing))
            for endpoint in closing:
                await endpoint.dispatcher.close()
            return answer

        async def retrieve(request: web.Request) -> web.Response:
            return await read(request, lambda _params: self._require(request.match_info["id"]).as_json())

        async def listing(request: web.Request) -> web.Response:
            return await read(request, self._list)

        return [
            web.post("/v1/webhook_endpoints", create),
            web.get("/v1/webhook_endpoints", listing),
            web.get("/v1/webhook_endpoints/{id}", retrieve),
            web.post("/v1/webhook_endpoints/{id}", update),
            web.delete("/v1/webhook_endpoints/{id}", delete),
        ]

    def _require(self, endpoint_id: str) -> Endpoint:
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None:
            raise missing("webhook endpoint", endpoint_id)
        return endpoint

    def _create(self, params: Params) -> Json:
        url = _url(params)
        if url is None:
            raise invalid("parameter_missing", "Missing required param: url.", "url")
        events = parse_events(_strings(params, "enabled_events"))
        secret = f"whsec_{secrets.token_urlsafe(24)}"
        endpoint = self.add(url, secret, events)
        endpoint.description, endpoint.metadata = _text(params, "description"), _metadata(params)
        self._keep(endpoint)
        return endpoint.as_json(secret)

    def _update(self, endpoint_id: str, params: Params) -> Json:
        endpoint = self._require(endpoint_id)
        url = _url(params)
        events = parse_events(_strings(params, "enabled_events")) if "enabled_events" in params else None
        disabled = params.get("disabled")
        if disabled not in {None, "true", "false"}:
            raise invalid("parameter_invalid_boolean", f"Invalid boolean: {disabled}", "disabled")
        if url is not None:
            endpoint.url = endpoint.dispatcher.url = url
        if events is not None:
            endpoint.enabled_events = events
        if disabled is not None:
            endpoint.disabled = disabled == "true"
        if "description" in params:
            endpoint.description = _text(params, "description")
        endpoint.metadata = {k: v for k, v in {**endpoint.metadata, **_metadata(params)}.items() if v}
        self._keep(endpoint)
        return endpoint.as_json()

    def _delete(self, endpoint_id: str, closing: list[Endpoint]) -> Json:
        endpoint = self._require(endpoint_id)
        del self._endpoints[endpoint_id]
        if self._store is not None:
            self._store.delete_endpoint(endpoint_id)
        closing.append(endpoint)
        return {"id": endpoint.id, "object": "webhook_endpoint", "deleted": True}

    def _list(self, params: Params) -> Json:
        limit = params.get("limit") or "10"
        if not (isinstance(limit, str) and limit.isdigit() and 1 <= int(limit) <= MAX_PAGE):
            raise invalid("parameter_invalid_integer", f"limit must be between 1 and {MAX_PAGE}.", "limit")
        newest_first = sorted(self._endpoints.values(), key=lambda e: (e.created, e.id), reverse=True)
        after = params.get("starting_after")
        if isinstance(after, str) and after:
            ids = [e.id for e in newest_first]
            if after not in ids:
                raise missing("webhook endpoint", after, "starting_after")
            newest_first = newest_first[ids.index(after) + 1 :]
        page = newest_first[: int(limit)]
        return {
            "object": "list", "data": [e.as_json() for e in page], "has_more": len(newest_first) > len(page),
            "url": "/v1/webhook_endpoints",
        }  # fmt: skip


def _text(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid("parameter_invalid_string", f"Invalid string: {name} must be a string.", name)
    return value or None


def _url(params: Params) -> str | None:
    url = _text(params, "url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise invalid("url_invalid", "Not a valid URL", "url")
    return url


def _strings(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if value is None or isinstance(value, str):
        value = [value] if value else []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("parameter_invalid_array", f"Invalid array: {name} must be an array.", name)
    return [str(v) for v in value]


def _metadata(params: Params) -> dict[str, str]:
    meta = params.get("metadata", {})
    if meta == "":
        return {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise invalid("parameter_invalid_object", "Invalid metadata: values must be strings.", "metadata")
    return {str(k): str(v) for k, v in meta.items()}
