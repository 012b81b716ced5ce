"""The simulated provider's records: payment intents, refunds and the events their changes emit.

Kept in memory behind `PaymentBook`, the one class that would change if the sandbox ever persisted.
Every lookup is a dict access; listing pages through an append-only creation-order index.

    SimulatorError          a refusal the API turns into a JSON error (status, type, code, message)
"""

from __future__ import annotations

import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

CURRENCY_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "cny": "¥"}  # all with two minor digits
METHOD_NAMES = {"card": "Card", "bancontact": "Bancontact", "alipay": "Alipay", "wechat_pay": "WeChat Pay"}
MAX_AMOUNT_MINOR = 99_999_999

Json = dict[str, object]
EventSink = Callable[[Json], None]


class SimulatorError(Exception):
    """A refusal with the HTTP status and Stripe-like error body the API answers with."""

    def __init__(self, status: int, error_type: str, code: str, message: str, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.code = code
        self.message = message
        self.param = param

    def body(self) -> Json:
        error: Json = {"type": self.error_type, "code": self.code, "message": self.message}
        if self.param:
            error["param"] = self.param
        return {"error": error}


def invalid(code: str, message: str, param: str | None = None, status: int = 400) -> SimulatorError:
    return SimulatorError(status, "invalid_request_error", code, message, param)


class IntentStatus(StrEnum):
    REQUIRES_ACTION = "requires_action"  # waiting for the customer at the checkout page
    SUCCEEDED = "succeeded"
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"  # declined; last_payment_error says why


def new_id(prefix: str) -> str:
    """Time-ordered, random ids (never from the seeded PRNG: two seeded runs must not collide)."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class NewIntent:
    amount: int
    currency: str
    payment_method: str
    description: str
    metadata: dict[str, str]
    return_url: str | None


@dataclass(slots=True)
class Refund:
    id: str
    amount: int
    currency: str
    payment_intent: str
    metadata: dict[str, str]
    created: int

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "object": "refund",
            "status": "succeeded",
            "amount": self.amount,
            "currency": self.currency,
            "payment_intent": self.payment_intent,
            "metadata": dict(self.metadata),
            "created": self.created,
        }


@dataclass(slots=True)
class Intent:
    id: str
    spec: NewIntent
    checkout_url: str
    created: int
    status: IntentStatus = IntentStatus.REQUIRES_ACTION
    last_payment_error: Json | None = None
    amount_refunded: int = 0
    refunds: list[Refund] = field(default_factory=list)

    def to_json(self) -> Json:
        spec = self.spec
        return {
            "id": self.id,
            "object": "payment_intent",
            "status": self.status.value,
            "amount": spec.amount,
            "amount_received": spec.amount if self.status is IntentStatus.SUCCEEDED else 0,
            "amount_refunded": self.amount_refunded,
            "currency": spec.currency,
            "payment_method": spec.payment_method,
            "description": spec.description,
            "metadata": dict(spec.metadata),
            "return_url": spec.return_url,
            "checkout_url": self.checkout_url,
            "last_payment_error": dict(self.last_payment_error) if self.last_payment_error else None,
            "refunds": [refund.to_json() for refund in self.refunds],
            "created": self.created,
        }


def _declined() -> Json:
    return {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "The payment was declined.",
    }


class PaymentBook:
    """All intents and refunds of the sandbox; each state change hands one event to `emit`."""

    def __init__(
        self,
        checkout_base_url: str,
        emit: EventSink,
        decline_rate: float = 0.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._checkout_base_url = checkout_base_url.rstrip("/")
        self._emit = emit
        self._decline_rate = decline_rate
        self._rng = rng or random.Random()
        self._clock = clock
        self._intents: dict[str, Intent] = {}
        self._order: list[str] = []  # creation order, append-only
        self._position: dict[str, int] = {}
        self._refund_count = 0
        self._event_count = 0
        self._status_counts: Counter[str] = Counter()
        self._captured: Counter[str] = Counter()  # per currency, minor units
        self._refunded: Counter[str] = Counter()

    def _now(self) -> int:
        return int(self._clock())

    def create_intent(self, spec: NewIntent) -> Intent:
        intent_id = new_id("pi")
        intent = Intent(intent_id, spec, f"{self._checkout_base_url}/checkout/{intent_id}", self._now())
        self._intents[intent_id] = intent
        self._position[intent_id] = len(self._order)
        self._order.append(intent_id)
        self._status_counts[intent.status] += 1
        return intent

    def get(self, intent_id: str) -> Intent | None:
        return self._intents.get(intent_id)

    def require(self, intent_id: str) -> Intent:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise invalid("resource_missing", f"No such payment_intent: {intent_id!r}", "id", status=404)
        return intent

    def page(self, limit: int, starting_after: str | None) -> tuple[list[Intent], bool]:
        """Intents in creation order (oldest first), `limit` of them after `starting_after`."""
        start = 0
        if starting_after is not None:
            position = self._position.get(starting_after)
            if position is None:
                raise invalid("resource_missing", "starting_after is no payment_intent", "starting_after")
            start = position + 1
        ids = self._order[start : start + limit]
        return [self._intents[i] for i in ids], start + limit < len(self._order)

    def approve(self, intent_id: str) -> Intent:
        """The customer approves; the configured decline rate may still decline. No-op unless pending."""
        intent = self.require(intent_id)
        if intent.status is IntentStatus.REQUIRES_ACTION:
            if self._decline_rate > 0 and self._rng.random() < self._decline_rate:
                self._fail(intent)
            else:
                self._move(intent, IntentStatus.SUCCEEDED)
                self._captured[intent.spec.currency] += intent.spec.amount
                self._publish("payment_intent.succeeded", intent)
        return intent

    def decline(self, intent_id: str) -> Intent:
        """The customer declines. No-op unless pending."""
        intent = self.require(intent_id)
        if intent.status is IntentStatus.REQUIRES_ACTION:
            self._fail(intent)
        return intent

    def refund(self, intent_id: str, amount: int | None, metadata: dict[str, str]) -> Refund:
        """Refund `amount` (default: what remains) of a succeeded intent; emits charge.refunded."""
        intent = self.require(intent_id)
        if intent.status is not IntentStatus.SUCCEEDED:
            raise invalid("charge_not_captured", "This payment intent has no successful charge.")
        remaining = intent.spec.amount - intent.amount_refunded
        if remaining <= 0:
            raise invalid("charge_already_refunded", "This charge has already been refunded.")
        amount = remaining if amount is None else amount
        if amount > remaining:
            raise invalid("amount_too_large", f"Refund amount exceeds the remaining {remaining}.", "amount")
        refund = Refund(new_id("re"), amount, intent.spec.currency, intent.id, metadata, self._now())
        intent.refunds.append(refund)
        intent.amount_refunded += amount
        self._refund_count += 1
        self._refunded[intent.spec.currency] += amount
        self._publish("charge.refunded", intent)
        return refund

    def summary(self) -> Json:
        currencies = sorted(set(self._captured) | set(self._refunded))
        return {
            "object": "balance_summary",
            "totals": {
                c: {
                    "captured": self._captured[c],
                    "refunded": self._refunded[c],
                    "net": self._captured[c] - self._refunded[c],
                }
                for c in currencies
            },
            "intents": len(self._intents),
            "intents_by_status": {s.value: self._status_counts[s] for s in IntentStatus},
            "refunds": self._refund_count,
            "events": self._event_count,
        }

    def _fail(self, intent: Intent) -> None:
        intent.last_payment_error = _declined()
        self._move(intent, IntentStatus.REQUIRES_PAYMENT_METHOD)
        self._publish("payment_intent.payment_failed", intent)

    def _move(self, intent: Intent, status: IntentStatus) -> None:
        self._status_counts[intent.status] -= 1
        self._status_counts[status] += 1
        intent.status = status

    def _publish(self, event_type: str, intent: Intent) -> None:
        """Snapshot the intent into an event now, so later changes do not leak into this one."""
        self._event_count += 1
        event: Json = {
            "id": new_id("evt"),
            "object": "event",
            "type": event_type,
            "created": self._now(),
            "livemode": False,
            "data": {"object": intent.to_json()},
        }
        self._emit(event)
