"""Stripe Terminal's card-present flow, as the simulator speaks it (the part a kiosk uses).

    POST /v1/terminal/readers/{reader}/process_payment_intent   payment_intent=pi_…: wait for a card
    GET  /v1/terminal/readers/{reader}                          the reader and its current action
    POST /v1/terminal/readers/{reader}/cancel_action            the customer gave up: the reader stops waiting
    POST /v1/test_helpers/terminal/readers/{reader}/present_payment_method
         card_present[number]=4242424242424242 (approved) or 4000000000000002 (declined): the card tap

A tap confirms the PaymentIntent (method `card_present`) in the book, so `payment_intent.succeeded` or
`payment_intent.payment_failed` goes out as for any other payment, followed by
`terminal.reader.action_succeeded` or `terminal.reader.action_failed`. Readers exist on first use
(ids `tmr_…`), as a simulated fleet. Same API key as the rest of `/v1`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from topup.simulators.payments.api import json_answer
from topup.simulators.payments.errors import Json, SimulatorError, invalid
from topup.simulators.payments.forms import FormError, decode
from topup.simulators.payments.records import TEST_CARD_NUMBERS, Confirmation, IntentStatus, new_id
from topup.simulators.payments.state import PaymentBook

APPROVED_CARD = "4242424242424242"
EventSink = Callable[[str, Json, "str | None"], None]


@dataclass
class Reader:
    id: str
    action: Json | None = None
    serial: str = field(default_factory=lambda: new_id("sim").upper())

    def json(self) -> Json:
        return {
            "id": self.id, "object": "terminal.reader", "device_type": "bbpos_wisepos_e", "label": self.id,
            "livemode": False, "serial_number": self.serial, "status": "online", "action": self.action,
        }  # fmt: skip


class TerminalReaders:
    def __init__(self, book: PaymentBook, emit: EventSink) -> None:
        self._book = book
        self._emit = emit
        self.readers: dict[str, Reader] = {}

    def routes(self) -> list[web.RouteDef]:
        base = "/v1/terminal/readers/{reader}"
        return [
            web.get(base, self.get_reader),
            web.post(f"{base}/process_payment_intent", self.process_payment_intent),
            web.post(f"{base}/cancel_action", self.cancel_action),
            web.post("/v1/test_helpers/terminal/readers/{reader}/present_payment_method", self.present),
        ]

    def _reader(self, request: web.Request) -> Reader:
        reader_id = request.match_info["reader"]
        if not reader_id.startswith("tmr_") or len(reader_id) > 64:
            raise invalid("resource_missing", f"No such terminal.reader: '{reader_id}'", "reader", 404)
        return self.readers.setdefault(reader_id, Reader(reader_id))

    @staticmethod
    async def _params(request: web.Request) -> Json:
        try:
            return decode(await request.text())
        except (FormError, UnicodeDecodeError) as exc:
            raise invalid("parameter_invalid", f"Invalid request: {exc}") from exc

    async def get_reader(self, request: web.Request) -> web.Response:
        return json_answer(self._reader(request).json())

    async def process_payment_intent(self, request: web.Request) -> web.Response:
        reader = self._reader(request)
        intent = self._book.require(str((await self._params(request)).get("payment_intent", "")))
        if "card_present" not in intent.payment_method_types:
            raise invalid("intent_invalid_state", "This PaymentIntent does not accept card_present.")
        if intent.status is not IntentStatus.REQUIRES_PAYMENT_METHOD:
            raise invalid("intent_invalid_state", f"This PaymentIntent is {intent.status.value}.")
        reader.action = {
            "type": "process_payment_intent", "status": "in_progress", "failure_code": None,
            "failure_message": None, "process_payment_intent": {"payment_intent": intent.id},
        }  # fmt: skip
        return json_answer(reader.json())

    async def cancel_action(self, request: web.Request) -> web.Response:
        reader = self._reader(request)
        if reader.action is not None and reader.action["status"] == "in_progress":
            reader.action = None
        return json_answer(reader.json())

    async def present(self, request: web.Request) -> web.Response:
        """The tap: the card number chooses approval or decline (Stripe's test card numbers)."""
        reader = self._reader(request)
        params = await self._params(request)
        card = params.get("card_present")
        number = str(card.get("number", APPROVED_CARD)) if isinstance(card, dict) else APPROVED_CARD
        if reader.action is None or reader.action["status"] != "in_progress":
            raise invalid("terminal_reader_timeout", "The reader is not waiting for a card.")
        waiting = reader.action["process_payment_intent"]
        intent = self._book.require(str(waiting["payment_intent"]))  # type: ignore[index]
        behaviour = TEST_CARD_NUMBERS.get(number.replace(" ", ""), "generic_decline")
        confirmation = Confirmation("card_present", new_id("pm"), behaviour, None, {})
        try:
            self._book.confirm(intent, confirmation, None)
        except SimulatorError as declined:
            reader.action = {**reader.action, "status": "failed", "failure_code": declined.code,
                             "failure_message": declined.message}  # fmt: skip
            self._emit("terminal.reader.action_failed", reader.json(), None)
            return json_answer(reader.json())
        reader.action = {**reader.action, "status": "succeeded"}
        self._emit("terminal.reader.action_succeeded", reader.json(), None)
        return json_answer(reader.json())
