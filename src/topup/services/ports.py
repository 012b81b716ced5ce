"""Ports: the small interfaces through which services reach the outside world.

Adapters implement them (`topup.adapters.*`) and are registered by name in `topup.bootstrap`.
Every outside call returns one typed result instead of raising for business outcomes; only
transport problems that the caller cannot interpret raise `PortUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from topup.domain.money import Money


class PortUnavailable(Exception):
    """The peer could not be reached or answered nonsense; the outcome of the call is unknown."""

    def __init__(self, message: str = "", *, code: str = "carrier_unavailable") -> None:
        super().__init__(message)
        self.code = code  # what the customer is told: carrier_unavailable, sms_unavailable, ...


# ---------------------------------------------------------------- payments


class PaymentStatus(StrEnum):
    REQUIRES_ACTION = "requires_action"  # waiting for the customer at the checkout page
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    NEEDS_REVIEW = "needs_review"  # a signed event did not match what we asked for: staff decide, never paid


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    payment_id: str  # our id, also the idempotency key at the provider
    order_id: str
    amount: Money
    method: str  # card | bancontact | alipay | wechat_pay
    description: str
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentResult:
    provider_ref: str  # the provider's id of the payment (pi_...)
    status: PaymentStatus
    checkout_url: str | None
    raw: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_ref: str
    succeeded: bool
    code: str | None = None  # provider's failure code when not succeeded


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified webhook event, reduced to what the platform acts on."""

    event_id: str
    type: str  # payment.succeeded | payment.failed | refund.succeeded | other provider types kept as is
    provider_ref: str  # the payment it is about
    payment_id: str | None  # our payment id, echoed back from metadata
    amount: Money | None
    failure_code: str | None
    payload: Mapping[str, object]


class ProviderRequestError(Exception):
    """The provider refused the request itself (bad key, invalid field); `status` and `code` say how."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"payment provider refused the request ({status} {code}): {message}")
        self.status = status
        self.code = code


class InvalidSignature(Exception):
    """A webhook whose signature, timestamp or format does not verify; it must change nothing."""


class UnusableEvent(Exception):
    """A correctly signed event we cannot act on (a shape, a type or fields we do not understand): it is
    acknowledged as `ignored` so that the provider stops sending it, and changes nothing."""


class PaymentProvider(Protocol):
    name: str

    def create_payment(self, request: PaymentRequest) -> PaymentResult: ...

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult: ...

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify the signature on the raw bytes and decode; raises InvalidSignature, or UnusableEvent
        for a verified body that is not an event we understand."""
        ...

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        """Rebuild the event of a payload verified earlier (the inbox); raises UnusableEvent."""
        ...


# ---------------------------------------------------------------- carriers


class CarrierOutcome(StrEnum):
    CONFIRMED = "confirmed"  # the carrier credited the line
    REJECTED = "rejected"  # refused for good (code says why); safe to refund
    RETRY = "retry"  # refused for now (overload, maintenance); nothing was credited
    UNKNOWN = "unknown"  # timeout or broken answer: ask for the status before anything else
    NOT_FOUND = "not_found"  # status query: the carrier never saw this reference
    CANCELLED = "cancelled"  # the reference was voided; a late arrival will be refused


@dataclass(frozen=True, slots=True)
class CarrierResult:
    outcome: CarrierOutcome
    code: str | None = None  # carrier's code: not_on_network, system_error, timeout, ...
    carrier_ref: str | None = None
    balance_after: Money | None = None


@dataclass(frozen=True, slots=True)
class CarrierBalance:
    msisdn: str
    balance: Money
    valid_until: str | None  # ISO date as the carrier states it


class CarrierGateway(Protocol):
    def topup(self, network_id: str, msisdn: str, amount: Money, reference: str) -> CarrierResult: ...

    def status(self, network_id: str, reference: str) -> CarrierResult: ...

    def cancel(self, network_id: str, reference: str) -> CarrierResult:
        """Void a reference so that a late arrival is refused; CONFIRMED if it had already been applied."""
        ...

    def balance(self, network_id: str, msisdn: str) -> CarrierBalance | CarrierResult: ...

    def buy_from_balance(
        self, network_id: str, msisdn: str, plan_code: str, price: Money, reference: str
    ) -> CarrierResult:
        """Buy a plan with the line's own credit at the carrier (idempotent by `reference`): CONFIRMED
        with `balance_after`, REJECTED with a code (insufficient_balance, not_on_network, ...), RETRY or
        UNKNOWN."""
        ...


# ---------------------------------------------------------------- eSIM profiles (SM-DP+, ES2+)


@dataclass(frozen=True, slots=True)
class SmdpResult:
    """The outcome of one ES2+ function call; on failure the SM-DP+'s subject and reason codes."""

    ok: bool
    iccid: str | None = None
    matching_id: str | None = None
    smdp_address: str | None = None
    eid: str | None = None
    subject_code: str | None = None
    reason_code: str | None = None
    message: str | None = None
    transient: bool = False  # nothing conclusive happened (timeout, 5xx): the same call may be repeated


class SmdpGateway(Protocol):
    def download_order(
        self,
        *,
        iccid: str | None = None,
        eid: str | None = None,
        profile_type: str,
        call_id: str | None = None,
    ) -> SmdpResult: ...

    def confirm_order(
        self, *, iccid: str, eid: str | None = None, matching_id: str | None = None, release: bool = True
    ) -> SmdpResult: ...

    def cancel_order(
        self,
        *,
        iccid: str,
        eid: str | None = None,
        matching_id: str | None = None,
        final_status: str = "Available",
    ) -> SmdpResult: ...
