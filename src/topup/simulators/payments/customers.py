"""Stripe's Customers and saved cards on the simulated account, and the off-session charges made with them.

- `POST /v1/customers`, `GET /v1/customers/{id}`: a customer (e-mail, metadata).
- A PaymentIntent confirmed with `customer` and `setup_future_usage=off_session` saves its card when it
  succeeds: a new `pm_...` is attached to the customer and becomes the intent's `payment_method`, as Stripe
  does with a test token. `POST /v1/payment_methods/{id}/attach|detach`, `GET /v1/payment_methods/{id}`.
- `POST /v1/payment_intents` with `customer`, `payment_method`, `off_session=true`, `confirm=true` charges a
  saved card without the customer: it succeeds, or answers Stripe's 402 `card_declined` /
  `authentication_required` with the intent (then `requires_payment_method`).

What an off-session charge does depends on the card that was saved (Stripe's test cards: 4000000000000341 /
`pm_card_chargeCustomerFail` are declined, 4000002760003184 asks for authentication, 4000000000009995 has
no funds) or on the admin knob `POST /_sim/payment_methods/{id}/off_session {"outcome": ...}`.
Unlike Stripe, 4000000000000341 pays its first, on-session payment, so that a test can save it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from topup.simulators.payments.api import (
    Action,
    _amount,
    _bool,
    _confirmation,
    _metadata,
    _text,
    json_answer,
)
from topup.simulators.payments.errors import Json, SimulatorError, invalid, missing
from topup.simulators.payments.forms import Params
from topup.simulators.payments.records import Confirmation, Intent, new_id
from topup.simulators.payments.state import PaymentBook

Write = Callable[[web.Request, Action], Awaitable[web.Response]]

OUTCOMES = ("succeed", "generic_decline", "insufficient_funds", "authentication_required")
# The test card an intent was confirmed with -> what charging it off-session later does.
OFF_SESSION = {
    "4000000000000341": "generic_decline",
    "pm_card_chargeCustomerFail": "generic_decline",
    "4000002760003184": "authentication_required",
    "pm_card_authenticationRequired": "authentication_required",
    "4000000000009995": "insufficient_funds",
}
BRANDS = {"4": "visa", "5": "mastercard", "3": "amex"}


@dataclass(slots=True)
class Customer:
    id: str
    email: str | None
    metadata: dict[str, str]
    created: int


@dataclass(slots=True)
class SavedMethod:
    id: str
    card: str  # the test card number or token it was saved from
    created: int
    customer: str | None = None
    off_session: str = "succeed"  # OUTCOMES
    metadata: dict[str, str] = field(default_factory=dict)


def customer_json(customer: Customer) -> Json:
    return {
        "id": customer.id, "object": "customer", "address": None, "balance": 0, "created": customer.created,
        "currency": None, "default_source": None, "delinquent": False, "description": None,
        "email": customer.email, "invoice_prefix": customer.id[-8:].upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                             "rendering_options": None},
        "livemode": False, "metadata": dict(customer.metadata), "name": None, "phone": None,
        "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
    }  # fmt: skip


def payment_method_json(method: SavedMethod) -> Json:
    digits = "".join(c for c in method.card if c.isdigit())
    last4 = digits[-4:] if len(digits) >= 4 else "4242"
    brand = BRANDS.get(digits[:1], "visa")
    return {
        "id": method.id, "object": "payment_method", "allow_redisplay": "unspecified",
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "card": {"brand": brand, "country": "BE", "exp_month": 12, "exp_year": 2034, "funding": "credit",
                 "last4": last4},
        "created": method.created, "customer": method.customer, "livemode": False,
        "metadata": dict(method.metadata), "type": "card",
    }  # fmt: skip


class SavedCards:
    """Customers and their saved cards; `book.after_success` saves a card an intent was asked to keep."""

    def __init__(self, book: PaymentBook, write: Write) -> None:
        self._book = book
        self._write = write  # Api._write: Stripe's idempotency and the injected faults
        self.customers: dict[str, Customer] = {}
        self.methods: dict[str, SavedMethod] = {}
        book.after_success = self.save_card

    # ------------------------------------------------------------ records

    def require_customer(self, customer_id: str) -> Customer:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise missing("customer", customer_id, "customer")
        return customer

    def require_method(self, method_id: str) -> SavedMethod:
        method = self.methods.get(method_id)
        if method is None:
            raise missing("PaymentMethod", method_id, "payment_method")
        return method

    def save_card(self, intent: Intent) -> None:
        """A card intent for a customer that asked to keep its card: a new pm_ attached to the customer."""
        if intent.method != "card" or not intent.customer or intent.setup_future_usage != "off_session":
            return
        if intent.payment_method in self.methods:
            return  # already a saved card (an off-session charge)
        card = intent.card or "4242424242424242"
        method = SavedMethod(new_id("pm"), card, self._book.now(), intent.customer,
                             OFF_SESSION.get(card, "succeed"))  # fmt: skip
        self.methods[method.id] = method
        intent.payment_method = method.id

    # ------------------------------------------------------------ off-session charges

    def create_intent(self, params: Params, key: str | None) -> Json:
        """`POST /v1/payment_intents` for a customer: set up to save a card, or charge a saved one."""
        customer = self.require_customer(str(_text(params, "customer") or ""))
        amount = _amount(params, required=True)
        currency = (_text(params, "currency") or "").lower()
        if not currency:
            raise invalid("parameter_missing", "Missing required param: currency.", "currency")
        usage = _text(params, "setup_future_usage")
        if usage not in {None, "off_session", "on_session"}:
            raise invalid("parameter_invalid_string", f"Invalid setup_future_usage: {usage}",
                          "setup_future_usage")  # fmt: skip
        assert amount is not None
        intent = self._book.create(amount, currency, ["card"], _text(params, "description"),
                                   _metadata(params), {})  # fmt: skip
        intent.customer, intent.setup_future_usage = customer.id, usage
        self._book.keep(intent)
        pm_id = _text(params, "payment_method")
        if not _bool(params, "confirm"):
            if pm_id:
                self._book.attach(intent, pm_id)
            return self._book.snapshot(intent)
        if not _bool(params, "off_session"):  # the customer is there: a test card, 3-D Secure as usual
            intent.return_url = _text(params, "return_url")
            self._book.confirm(intent, _confirmation(params, intent), key)
            return self._book.snapshot(intent)
        method = self.require_method(str(pm_id or ""))
        if method.customer != customer.id:
            raise invalid(
                "payment_method_invalid_parameter",
                f"The provided PaymentMethod ({method.id}) was not attached to customer {customer.id}.",
                "payment_method",
            )
        intent.card = method.card
        confirmation = Confirmation("card", method.id, method.off_session, None, {})
        try:
            self._book.confirm(intent, confirmation, key)
        except SimulatorError as exc:
            exc.extra = {**exc.extra, "payment_intent": self._book.snapshot(intent),
                         "payment_method": payment_method_json(method)}  # fmt: skip
            raise
        return self._book.snapshot(intent)

    # ------------------------------------------------------------ HTTP

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/customers", self.create_customer),
            web.get("/v1/customers/{id}", self.get_customer),
            web.get("/v1/payment_methods/{id}", self.get_method),
            web.post("/v1/payment_methods/{id}/attach", self.attach),
            web.post("/v1/payment_methods/{id}/detach", self.detach),
            web.post("/_sim/payment_methods/{id}/off_session", self.set_outcome),
        ]

    async def create_customer(self, request: web.Request) -> web.Response:
        def action(params: Params, _key: str | None) -> Json:
            customer = Customer(new_id("cus"), _text(params, "email"), _metadata(params), self._book.now())
            self.customers[customer.id] = customer
            self._book.counts["customers"] += 1
            return customer_json(customer)

        return await self._write(request, action)

    async def get_customer(self, request: web.Request) -> web.Response:
        return json_answer(customer_json(self.require_customer(request.match_info["id"])))

    async def get_method(self, request: web.Request) -> web.Response:
        return json_answer(payment_method_json(self.require_method(request.match_info["id"])))

    async def attach(self, request: web.Request) -> web.Response:
        method_id = request.match_info["id"]

        def action(params: Params, _key: str | None) -> Json:
            method = self.require_method(method_id)
            customer = self.require_customer(str(_text(params, "customer") or ""))
            if method.customer not in {None, customer.id}:
                raise invalid("payment_method_unexpected_state",
                              "This PaymentMethod is already attached to another customer.")  # fmt: skip
            method.customer = customer.id
            return payment_method_json(method)

        return await self._write(request, action)

    async def detach(self, request: web.Request) -> web.Response:
        method_id = request.match_info["id"]

        def action(_params: Params, _key: str | None) -> Json:
            method = self.require_method(method_id)
            if method.customer is None:
                raise invalid("payment_method_unexpected_state",
                              "The payment method you provided is not attached to a customer so "
                              "detachment is impossible.")  # fmt: skip
            method.customer = None
            return payment_method_json(method)

        return await self._write(request, action)

    async def set_outcome(self, request: web.Request) -> web.Response:
        """The admin knob: what charging this saved card off-session does from now on."""
        method = self.require_method(request.match_info["id"])
        try:
            outcome = json.loads(await request.read()).get("outcome")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
            raise invalid("invalid_json", 'The body must be {"outcome": ...}.') from exc
        if outcome not in OUTCOMES:
            raise invalid("invalid_outcome", f"outcome must be one of {', '.join(OUTCOMES)}", "outcome")
        method.off_session = outcome
        return json_answer(payment_method_json(method))
