"""The simulator's own admin surface under `/_sim` (not Stripe's API): faults, a summary and the events.

Tests and the chaos tool turn faults at run time (`POST /_sim/faults` with a JSON object), read totals
(`GET /_sim/summary`) and the events emitted so far (`GET /_sim/events?type=&object=`). It takes the same
API key as `/v1`.
"""

from __future__ import annotations

import json

from aiohttp import web

from topup.simulators.payments.api import json_answer
from topup.simulators.payments.endpoints import WebhookEndpoints
from topup.simulators.payments.errors import Json, invalid
from topup.simulators.payments.records import IntentStatus
from topup.simulators.payments.state import PaymentBook
from topup.simulators.payments.store import BookStore

MAX_EVENTS = 10_000  # kept for inspection; the oldest are forgotten first


class Admin:
    def __init__(
        self, book: PaymentBook, endpoints: WebhookEndpoints, store: BookStore | None = None
    ) -> None:
        self._book = book
        self._endpoints = endpoints
        self._store = store
        self.events: list[Json] = store.events()[-MAX_EVENTS:] if store else []

    def record(self, event: Json) -> None:
        self.events.append(event)
        if self._store is not None:
            self._store.add_event(event)
        if len(self.events) > MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]
            if self._store is not None:
                self._store.forget_events_before(MAX_EVENTS)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sim/faults", self.get_faults),
            web.post("/_sim/faults", self.set_faults),
            web.get("/_sim/summary", self.summary),
            web.get("/_sim/events", self.list_events),
        ]

    async def get_faults(self, _request: web.Request) -> web.Response:
        return json_answer(self._book.faults.as_json())

    async def set_faults(self, request: web.Request) -> web.Response:
        try:
            changes = json.loads(await request.read())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise invalid("invalid_json", "The body must be a JSON object.") from exc
        if not isinstance(changes, dict):
            raise invalid("invalid_json", "The body must be a JSON object.")
        self._book.faults.update(changes)
        return json_answer(self._book.faults.as_json())

    async def summary(self, _request: web.Request) -> web.Response:
        book = self._book
        currencies = sorted(
            {key.split("_", 1)[1] for key in book.counts if key.startswith(("captured_", "refunded_"))}
        )
        by_status = {s.value: 0 for s in IntentStatus}
        for intent in book.intents.values():
            by_status[intent.status.value] += 1
        totals = {
            c: {
                "captured": book.counts[f"captured_{c}"],
                "refunded": book.counts[f"refunded_{c}"],
                "net": book.counts[f"captured_{c}"] - book.counts[f"refunded_{c}"],
            }
            for c in currencies
        }
        return json_answer({
            "object": "sim_summary", "totals": totals, "intents": len(book.intents),
            "intents_by_status": by_status, "refunds": len(book.refunds),
            "refunds_failed": book.counts["refunds_failed"], "events": len(self.events),
            "webhooks": self._endpoints.stats(), "faults": book.faults.as_json(),
        })  # fmt: skip

    async def list_events(self, request: web.Request) -> web.Response:
        wanted_type, wanted_object = request.query.get("type"), request.query.get("object")
        found = []
        for event in self.events:
            data = event.get("data")
            obj = data.get("object") if isinstance(data, dict) else None
            ids = {obj.get("id"), obj.get("payment_intent")} if isinstance(obj, dict) else set()
            if (wanted_type is None or event.get("type") == wanted_type) and (
                wanted_object is None or wanted_object in ids
            ):
                found.append(event)
        return json_answer({"object": "list", "data": found, "has_more": False, "url": "/_sim/events"})
