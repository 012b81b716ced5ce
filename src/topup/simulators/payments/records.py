"""The simulated Stripe account's records and the facts they follow: PaymentIntents, Checkout Sessions and
refunds as plain data (the rules that change them are `state.PaymentBook`'s; `store` keeps them on disk),
the currencies each method takes, and Stripe's test cards."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from topup.simulators.payments.errors import Json, SimulatorError, invalid, missing

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


def check_currency(method: str, currency: str) -> None:
    """Refuse a method Stripe does not know, or a currency it does not take."""
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


Row = TypeVar("Row", Intent, Refund, Session)


def page_of(
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
