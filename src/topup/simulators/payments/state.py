"""The simulated Stripe account's records: PaymentIntents, their charges, refunds and the events they emit.

Kept in memory behind `PaymentBook`; the aiohttp server runs every change on one event loop, so no lock
is needed. The JSON each object renders is in `objects`. Status changes follow Stripe's PaymentIntent
life cycle:

    requires_payment_method -> requires_confirmation -> requires_action -> processing -> succeeded
                  \\________________________________________\\______________________-> canceled

Refusals raise `errors.SimulatorError`, answered as Stripe's error body.
"""

from __future__ import annotations

import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from topup.simulators.payments import objects
from topup.simulators.payments.errors import DOC_URL, Json, SimulatorError, invalid, missing
from topup.simulators.payments.faults import Faults

CURRENCY_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "cny": "¥", "hkd": "HK$"}  # two minor digits
METHOD_NAMES = {"card": "Card", "bancontact": "Bancontact", "alipay": "Alipay", "wechat_pay": "WeChat Pay"}
METHOD_CURRENCIES = {
    "card": frozenset(CURRENCY_SYMBOLS),
    "card_present": frozenset(CURRENCY_SYMBOLS),  # Stripe Terminal's readers (terminal.py)
    "bancontact": frozenset({"eur"}),
    "alipay": frozenset({"cny", "eur", "usd", "gbp", "hkd"}),
    "wechat_pay": frozenset({"cny", "eur", "usd", "gbp", "hkd"}),
}
ASYNC_REFUND_METHODS = frozenset({"alipay", "wechat_pay"})
MAX_AMOUNT_MINOR = 99_999_999

# Test payment methods, as in Stripe's test mode: what confirming with them does.
TEST_CARDS = {
    "pm_card_visa": "succeed",
    "pm_card_mastercard": "succeed",
    "pm_card_threeDSecure2Required": "three_d_secure",
    "pm_card_authenticationRequired": "three_d_secure",
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeCustomerFail": "succeed",  # saved, then declined off-session (customers.py)
}
# Stripe's test card numbers, typed on the Checkout page: what paying with them does.
TEST_CARD_NUMBERS = {
    "4242424242424242": "succeed",
    "5555555555554444": "succeed",
    "4000002500003155": "three_d_secure",
    "4000000000003220": "three_d_secure",
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000000341": "succeed",  # saved, then declined off-session (customers.py)
    "4000002760003184": "three_d_secure",  # saved, then asks for authentication off-session
}
DECLINES = {"generic_decline", "insufficient_funds", "authentication_required"}
SESSION_MIN_TTL_S, SESSION_MAX_TTL_S = 30 * 60, 24 * 3600  # Stripe's bounds on `expires_at`
REFUND_FAIL_MARKER = ("sim_refund", "fail")  # refund metadata that makes an asynchronous refund fail

EventSink = Callable[[str, Json, "str | None"], None]  # type, object snapshot, idempotency key
Scheduler = Callable[[float, Callable[[], None]], None]


class IntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


CANCELABLE = {
    IntentStatus.REQUIRES_PAYMENT_METHOD,
    IntentStatus.REQUIRES_CONFIRMATION,
    IntentStatus.REQUIRES_ACTION,
}


def new_id(prefix: str) -> str:
    """Time-ordered, random ids (never from the seeded PRNG: two seeded runs must not collide)."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


@dataclass(slots=True)
class Refund:
    id: str
    amount: int
    currency: str
    intent_id: str
    charge_id: str
    metadata: dict[str, str]
    reason: str | None
    created: int
    seq: int
    status: str = "succeeded"  # pending | succeeded | failed | canceled
    failure_reason: str | None = None


@dataclass(slots=True)
class Intent:
    id: str
    amount: int
    currency: str
    payment_method_types: list[str]
    description: str | None
    metadata: dict[str, str]
    created: int
    seq: int
    payment_method_options: Json = field(default_factory=dict)
    status: IntentStatus = IntentStatus.REQUIRES_PAYMENT_METHOD
    method: str | None = None  # the payment method type chosen at confirmation
    payment_method: str | None = None  # pm_...
    behaviour: str = "succeed"  # what the test payment method does (TEST_CARDS)
    return_url: str | None = None
    next_action: Json | None = None
    last_payment_error: Json | None = None
    latest_charge: str | None = None
    canceled_at: int | None = None
    cancellation_reason: str | None = None
    amount_refunded: int = 0  # on the charge; pending refunds count, failed ones come back
    refunds: list[str] = field(default_factory=list)
    hosted_url: str = ""
    customer: str | None = None  # cus_...: the customer the intent is for (customers.py)
    setup_future_usage: str | None = None  # off_session: the card is saved to the customer on success
    card: str | None = None  # the test card (number or pm_card_... token) it was confirmed with


@dataclass(slots=True)
class Session:
    """A Checkout Session in `payment` mode: one line item, paid by card on the hosted page."""

    id: str
    amount: int
    currency: str
    name: str  # the line item's product name
    metadata: dict[str, str]
    intent_data: Json  # payment_intent_data: metadata, description
    client_reference_id: str | None
    success_url: str
    cancel_url: str | None
    expires_at: int
    created: int
    seq: int
    url: str = ""
    status: str = "open"  # open | complete | expired
    payment_status: str = "unpaid"  # unpaid | paid
    payment_intent: str | None = None
    last_error: str | None = None  # what the page says after a declined card
    customer: str | None = None  # cus_...: its PaymentIntent is for this customer
    locale: str | None = None  # Stripe's `locale`: the language of its hosted page (locales.py)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a confirmation asks: the method, its test behaviour, where to come back, its options."""

    method: str
    payment_method: str
    behaviour: str
    return_url: str | None
    options: Json


class PaymentBook:
    """All intents and refunds of the simulated account; every change emits its Stripe events."""

    def __init__(  # noqa: PLR0917 (the app wires these once)
        self,
        public_url: str,
        emit: EventSink,
        schedule: Scheduler,
        faults: Faults,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self._emit = emit
        self._schedule = schedule
        self.faults = faults
        self._rng = rng or random.Random()
        self._clock = clock
        self.intents: dict[str, Intent] = {}
        self.refunds: dict[str, Refund] = {}
        self._charges: dict[str, str] = {}  # charge id -> intent id
        self.sessions: dict[str, Session] = {}
        self._session_of: dict[str, str] = {}  # intent id -> the session that created it
        self._seq = 0
        self.counts: Counter[str] = Counter()
        self.after_success: Callable[[Intent], None] = lambda _intent: None  # customers.py saves cards

    def now(self) -> int:
        return int(self._clock())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ------------------------------------------------------------ lookups

    def require(self, intent_id: str) -> Intent:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise missing("payment_intent", intent_id, "intent")
        return intent

    def require_refund(self, refund_id: str) -> Refund:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise missing("refund", refund_id, "refund")
        return refund

    def intent_of_charge(self, charge_id: str) -> Intent | None:
        intent_id = self._charges.get(charge_id)
        return self.intents.get(intent_id) if intent_id else None

    # ------------------------------------------------------------ intents

    def create(  # noqa: PLR0917 (Stripe's create parameters, each validated by the API)
        self,
        amount: int,
        currency: str,
        methods: list[str],
        description: str | None,
        metadata: dict[str, str],
        options: Json,
    ) -> Intent:
        for method in methods:
            self.check_currency(method, currency)
        intent = Intent(
            new_id("pi"), amount, currency, methods, description, metadata, self.now(), self._next_seq(),
            payment_method_options=options,
        )  # fmt: skip
        intent.hosted_url = f"{self.public_url}/checkout/{intent.id}"
        self.intents[intent.id] = intent
        self.counts["intents"] += 1
        return intent

    @staticmethod
    def check_currency(method: str, currency: str) -> None:
        allowed = METHOD_CURRENCIES.get(method)
        if allowed is None:
            raise invalid(
                "payment_intent_invalid_parameter",
                f"The payment method type {method!r} is invalid. Supported: {sorted(METHOD_CURRENCIES)}.",
                "payment_method_types",
            )
        if currency not in allowed:
            raise invalid(
                "payment_intent_invalid_currency",
                f"The currency provided ({currency}) is invalid. Payments with {method} support the "
                f"following currencies: {', '.join(sorted(allowed))}.",
                "currency",
            )

    def attach(self, intent: Intent, payment_method: str) -> None:
        """A payment method given without confirming: the intent waits for confirmation."""
        intent.payment_method = payment_method
        if intent.status is IntentStatus.REQUIRES_PAYMENT_METHOD:
            intent.status = IntentStatus.REQUIRES_CONFIRMATION

    def confirm(self, intent: Intent, confirmation: Confirmation, request_key: str | None) -> Intent:
        """Confirm with a method: succeed, decline (402, as Stripe answers) or ask for the customer."""
        if intent.status not in {IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_CONFIRMATION}:
            raise unexpected_state(intent, "confirm")
        if confirmation.method not in intent.payment_method_types:
            raise invalid(
                "payment_intent_incompatible_payment_method",
                f"The PaymentMethod type {confirmation.method!r} is not in this PaymentIntent's "
                f"payment_method_types {intent.payment_method_types}.",
                "payment_method",
            )
        self.check_currency(confirmation.method, intent.currency)
        intent.method, intent.payment_method = confirmation.method, confirmation.payment_method
        intent.card = intent.card if intent.card and intent.card[0].isdigit() else confirmation.payment_method
        intent.behaviour, intent.last_payment_error = confirmation.behaviour, None
        intent.payment_method_options = {**intent.payment_method_options, **confirmation.options}
        intent.return_url = confirmation.return_url or intent.return_url
        if confirmation.behaviour in DECLINES:
            self._decline(intent, confirmation.behaviour, request_key)
            error: Json = intent.last_payment_error or {}
            raise SimulatorError(
                402, "card_error", str(error.get("code")), str(error.get("message")),
                decline_code=confirmation.behaviour,
                extra={"payment_intent": {"id": intent.id, "status": intent.status.value}},
            )  # fmt: skip
        if confirmation.method in {"card", "card_present"} and confirmation.behaviour == "succeed":
            self._succeed(intent, request_key)
            return intent
        intent.next_action = self._next_action(intent)
        intent.status = IntentStatus.REQUIRES_ACTION
        self._emit("payment_intent.requires_action", self.snapshot(intent), request_key)
        return intent

    def _next_action(self, intent: Intent) -> Json:
        return objects.next_action(self.public_url, intent)

    def snapshot(self, intent: Intent) -> Json:
        return objects.intent_json(intent)

    def update(self, intent: Intent, changes: Json) -> Intent:
        settled = intent.status in {IntentStatus.SUCCEEDED, IntentStatus.PROCESSING, IntentStatus.CANCELED}
        if settled and set(changes) - {"metadata", "description"}:
            raise unexpected_state(intent, "update")
        metadata = changes.get("metadata")
        if isinstance(metadata, dict):
            intent.metadata = {k: str(v) for k, v in {**intent.metadata, **metadata}.items() if v != ""}
        if isinstance(changes.get("description"), str):
            intent.description = str(changes["description"])
        if isinstance(changes.get("amount"), int):
            intent.amount = int(str(changes["amount"]))
        return intent

    def cancel(self, intent: Intent, reason: str | None, request_key: str | None) -> Intent:
        if intent.status not in CANCELABLE:
            raise unexpected_state(intent, "cancel")
        intent.status, intent.next_action = IntentStatus.CANCELED, None
        intent.canceled_at, intent.cancellation_reason = self.now(), reason
        self.counts["canceled"] += 1
        self._emit("payment_intent.canceled", self.snapshot(intent), request_key)
        return intent

    def customer_acts(self, intent: Intent, approve: bool) -> Intent:
        """The customer approves or declines on the hosted page; nothing happens unless it waits for them."""
        if intent.status is not IntentStatus.REQUIRES_ACTION:
            return intent
        intent.next_action = None
        if not approve:
            self._decline(intent, "customer_declined", None)
            return intent
        if self.faults.decline_rate > 0 and self._rng.random() < self.faults.decline_rate:
            self._decline(intent, "generic_decline", None)
            return intent
        if self.faults.processing_ms > 0:
            intent.status = IntentStatus.PROCESSING
            self._emit("payment_intent.processing", self.snapshot(intent), None)
            self._schedule(self.faults.processing_ms / 1000, lambda: self._settle(intent))
            return intent
        self._succeed(intent, None)
        return intent

    def _settle(self, intent: Intent) -> None:
        if intent.status is IntentStatus.PROCESSING:
            self._succeed(intent, None)

    def _succeed(self, intent: Intent, request_key: str | None) -> None:
        charge_id = new_id("ch")
        self._charges[charge_id] = intent.id
        intent.latest_charge, intent.status, intent.next_action = charge_id, IntentStatus.SUCCEEDED, None
        self.counts["succeeded"] += 1
        self.counts[f"captured_{intent.currency}"] += intent.amount
        self.after_success(intent)
        self._emit("payment_intent.succeeded", self.snapshot(intent), request_key)
        session = self.sessions.get(self._session_of.get(intent.id, ""))
        if session is not None and session.status == "open":
            session.status, session.payment_status, session.last_error = "complete", "paid", None
            self.counts["sessions_completed"] += 1
            self._emit("checkout.session.completed", objects.session_json(session), request_key)

    def _decline(self, intent: Intent, why: str, request_key: str | None) -> None:
        if why == "authentication_required":  # off-session: the bank wants the customer (customers.py)
            error: Json = {
                "type": "card_error", "code": "authentication_required", "decline_code": why,
                "message": "Your card was declined. This transaction requires authentication.",
                "doc_url": DOC_URL + "authentication-required",
            }  # fmt: skip
        elif intent.method in {"card", "card_present"} or why != "customer_declined":
            error = {
                "type": "card_error", "code": "card_declined",
                "decline_code": "generic_decline" if why == "customer_declined" else why,
                "message": "Your card was declined.", "doc_url": DOC_URL + "card-declined",
            }  # fmt: skip
        else:
            error = {
                "type": "invalid_request_error", "code": "payment_intent_payment_attempt_failed",
                "message": f"The customer did not approve the {METHOD_NAMES.get(intent.method or '')} "
                "payment.",
                "doc_url": DOC_URL + "payment-intent-payment-attempt-failed",
            }  # fmt: skip
        error["payment_method"] = {
            "id": intent.payment_method,
            "object": "payment_method",
            "type": intent.method,
        }
        intent.last_payment_error, intent.status = error, IntentStatus.REQUIRES_PAYMENT_METHOD
        intent.next_action = None
        self.counts["declined"] += 1
        self._emit("payment_intent.payment_failed", self.snapshot(intent), request_key)

    # ------------------------------------------------------------ checkout sessions

    def require_session(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise missing("checkout.session", session_id, "session")
        return session

    def create_session(  # noqa: PLR0917 (Stripe's create parameters, each validated by the API)
        self,
        amount: int,
        currency: str,
        name: str,
        metadata: dict[str, str],
        intent_data: Json,
        urls: tuple[str, str | None],
        client_reference_id: str | None,
        expires_at: int | None,
    ) -> Session:
        self.check_currency("card", currency)
        now = self.now()
        expires_at = now + 24 * 3600 if expires_at is None else expires_at
        if not now + SESSION_MIN_TTL_S - 60 <= expires_at <= now + SESSION_MAX_TTL_S:
            raise invalid(
                "parameter_invalid_integer",
                "The `expires_at` timestamp must be at least 30 minutes and at most 24 hours from "
                "Checkout Session creation.",
                "expires_at",
            )
        session = Session(
            new_id("cs_test"), amount, currency, name, metadata, intent_data, client_reference_id, urls[0],
            urls[1], expires_at, now, self._next_seq(),
        )  # fmt: skip
        session.url = f"{self.public_url}/checkout/{session.id}"
        self.sessions[session.id] = session
        self.counts["sessions"] += 1
        self._schedule(max(0, expires_at - now), lambda: self._lapse(session))
        return session

    def _lapse(self, session: Session) -> None:
        if session.status == "open":
            self.expire_session(session, None)

    def expire_session(self, session: Session, request_key: str | None) -> Session:
        """Expire an open session (Stripe refuses any other); its unfinished PaymentIntent is canceled."""
        if session.status != "open":
            raise invalid(
                "checkout_session_unexpected_state",
                f'Only Checkout Sessions with a status in ["open"] can be expired. This session has a '
                f"status of {session.status}.",
            )
        intent = self.intents.get(session.payment_intent or "")
        if intent is not None and intent.status is IntentStatus.PROCESSING:
            raise invalid(
                "checkout_session_unexpected_state",
                "This Checkout Session's payment is processing and cannot be expired.",
            )
        if intent is not None and intent.status in CANCELABLE:
            self.cancel(intent, "abandoned", request_key)
        session.status = "expired"
        self.counts["sessions_expired"] += 1
        self._emit("checkout.session.expired", objects.session_json(session), request_key)
        return session

    def pay_session(self, session: Session, card_number: str) -> Intent | None:
        """The customer submits a card on the hosted page: the session's PaymentIntent is created (once)
        and confirmed with it. A declined card leaves the session open for another card, as Stripe does;
        a card asking for 3-D Secure leaves the intent waiting on the simulated challenge."""
        if session.status != "open":
            return self.intents.get(session.payment_intent or "")
        behaviour = TEST_CARD_NUMBERS.get(card_number)
        if behaviour is None:
            session.last_error = "Your card number is invalid. Use one of Stripe's test cards."
            return None
        intent = self.intents.get(session.payment_intent or "")
        if intent is None:
            intent = self.create(
                session.amount, session.currency, ["card"], _str(session.intent_data.get("description")),
                {str(k): str(v) for k, v in _dict(session.intent_data.get("metadata")).items()}, {},
            )  # fmt: skip
            session.payment_intent = intent.id
            self._session_of[intent.id] = session.id
            intent.customer = session.customer
            intent.setup_future_usage = _str(session.intent_data.get("setup_future_usage"))
        intent.card = card_number
        if intent.status not in {IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_CONFIRMATION}:
            return intent  # a 3-D Secure challenge or the bank's confirmation is under way
        confirmation = Confirmation("card", new_id("pm"), behaviour, session.url, {})
        try:
            self.confirm(intent, confirmation, None)
        except SimulatorError:
            session.last_error = "Your card was declined. Try another card."
            return intent
        session.last_error = None
        return intent

    # ------------------------------------------------------------ refunds

    def refund(
        self, intent: Intent, amount: int | None, metadata: dict[str, str], reason: str | None,
        request_key: str | None,
    ) -> Refund:  # fmt: skip
        """Refund `amount` (default: what remains); asynchronous for Alipay and WeChat Pay."""
        if intent.status is not IntentStatus.SUCCEEDED or intent.latest_charge is None:
            raise invalid(
                "charge_not_captured",
                f"PaymentIntent {intent.id} does not have a successful charge to refund.",
            )
        remaining = intent.amount - intent.amount_refunded
        if remaining <= 0:
            raise invalid(
                "charge_already_refunded", f"Charge {intent.latest_charge} has already been refunded."
            )
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise invalid(
                "amount_too_large",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining}).",
                "amount",
            )
        refund = Refund(
            new_id("re"), amount, intent.currency, intent.id, intent.latest_charge, metadata, reason,
            self.now(), self._next_seq(),
        )  # fmt: skip
        self.refunds[refund.id] = refund
        intent.refunds.append(refund.id)
        intent.amount_refunded += amount
        self.counts["refunds"] += 1
        if intent.method in ASYNC_REFUND_METHODS:
            refund.status = "pending"
            fails = tuple(metadata.items() & {REFUND_FAIL_MARKER}) or (
                self.faults.refund_failure_rate > 0 and self._rng.random() < self.faults.refund_failure_rate
            )
            self._schedule(self.faults.refund_delay_ms / 1000, lambda: self._finish_refund(refund, not fails))
        else:
            self.counts[f"refunded_{intent.currency}"] += amount
            self._emit_charge_refunded(intent, request_key)
        return refund

    def _finish_refund(self, refund: Refund, succeeded: bool) -> None:
        if refund.status != "pending":
            return
        intent = self.intents[refund.intent_id]
        if succeeded:
            refund.status = "succeeded"
            self.counts[f"refunded_{refund.currency}"] += refund.amount
            self._emit("refund.updated", objects.refund_json(refund), None)
            self._emit_charge_refunded(intent, None)
            return
        refund.status, refund.failure_reason = "failed", "declined"
        intent.amount_refunded -= refund.amount  # the money is back on the account's balance
        self.counts["refunds_failed"] += 1
        self._emit("refund.failed", objects.refund_json(refund), None)
        self._emit("refund.updated", objects.refund_json(refund), None)

    def _emit_charge_refunded(self, intent: Intent, request_key: str | None) -> None:
        self._emit("charge.refunded", objects.charge_json(intent), request_key)

    # ------------------------------------------------------------ lists

    def page_intents(
        self, created_gte: int | None, after: str | None, limit: int
    ) -> tuple[list[Intent], bool]:
        rows = [i for i in self.intents.values() if created_gte is None or i.created >= created_gte]
        return _page(rows, self.intents.get(after) if after else None, after, limit, "payment_intent")

    def page_refunds(
        self, intent_id: str | None, created_gte: int | None, after: str | None, limit: int
    ) -> tuple[list[Refund], bool]:
        rows = [
            r for r in self.refunds.values()
            if intent_id in {None, r.intent_id} and (created_gte is None or r.created >= created_gte)
        ]  # fmt: skip
        return _page(rows, self.refunds.get(after) if after else None, after, limit, "refund")

    def page_sessions(
        self, intent_id: str | None, created_gte: int | None, after: str | None, limit: int
    ) -> tuple[list[Session], bool]:
        rows = [
            s for s in self.sessions.values()
            if intent_id in {None, s.payment_intent} and (created_gte is None or s.created >= created_gte)
        ]  # fmt: skip
        return _page(rows, self.sessions.get(after) if after else None, after, limit, "checkout.session")


def _dict(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


Row = TypeVar("Row", Intent, Refund, Session)


def _page(
    rows: list[Row], cursor: Row | None, after: str | None, limit: int, kind: str
) -> tuple[list[Row], bool]:
    """Newest first, as Stripe lists; `starting_after` an object id continues after it."""
    if after and cursor is None:
        raise missing(kind, after, "starting_after")
    ordered = sorted(rows, key=lambda row: row.seq, reverse=True)
    if cursor is not None:
        ordered = [row for row in ordered if row.seq < cursor.seq]
    return ordered[:limit], len(ordered) > limit


def unexpected_state(intent: Intent, action: str) -> SimulatorError:
    return SimulatorError(
        400, "invalid_request_error", "payment_intent_unexpected_state",
        f"You cannot {action} this PaymentIntent because it has a status of {intent.status.value}.",
        extra={"payment_intent": {"id": intent.id, "status": intent.status.value}},
    )  # fmt: skip
