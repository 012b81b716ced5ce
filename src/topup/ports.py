"""Ports: the small interfaces through which services reach the outside world.

Adapters implement them (`topup.adapters.*`) and are registered by name in `topup.wiring`.
Every outside call returns one typed result instead of raising for business outcomes; only
transport problems that the caller cannot interpret raise `PortUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from topup.domain.money import Money


class PortUnavailable(Exception):
    """The peer could not be reached or answered nonsense; the outcome of the call is unknown."""

    def __init__(self, message: str = "", *, code: str = "carrier_unavailable") -> None:
        super().__init__(message)
        self.code = code  # what the customer is told: carrier_unavailable, sms_unavailable, ...


# ---------------------------------------------------------------- payments


class PaymentStatus(StrEnum):
    REQUIRES_ACTION = "requires_action"  # waiting for the customer at the checkout page
    PROCESSING = "processing"  # the customer acted; the provider has not decided yet (no new attempt)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # declined, or cancelled (at the provider, or by us before a new attempt)
    REFUNDED = "refunded"
    NEEDS_REVIEW = "needs_review"  # a signed event did not match what we asked for: staff decide, never paid


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    payment_id: str  # our id, also the idempotency key at the provider
    order_id: str
    amount: Money
    method: str  # card | bancontact | alipay | wechat_pay
    description: str
    return_url: str | None = None  # where the customer comes back to after a redirect
    # A card payment that also saves the card for later off-session charges (auto top-up) to this customer
    # at the provider (SavedCardProvider.create_customer); "" for a one-off payment.
    save_card_for: str = ""
    # The buyer's language (the order's: en, nl, fr, de, zh-hans): the provider's hosted pages speak it
    # where the provider lets us say so (Stripe Checkout's `locale`, Bancontact's preferred language).
    language: str = "en"


class NextActionKind(StrEnum):
    REDIRECT = "redirect"  # send the customer to `url` (3-D Secure, Bancontact's bank, Alipay)
    DISPLAY_QR = "display_qr"  # show `qr_data` as a QR code to scan in the payer's app (WeChat Pay)


@dataclass(frozen=True, slots=True)
class NextAction:
    """What the customer must do to pay (Stripe's `next_action`, reduced)."""

    kind: NextActionKind
    url: str | None = None  # REDIRECT: the page to go to
    qr_data: str | None = None  # DISPLAY_QR: the text the QR code encodes
    instructions_url: str | None = None  # DISPLAY_QR: the provider's hosted instructions


@dataclass(frozen=True, slots=True)
class PaymentResult:
    provider_ref: str  # the provider's id of the payment (pi_...)
    status: PaymentStatus
    checkout_url: str | None  # where the customer pays: the next action's redirect, or None
    raw: Mapping[str, object] = field(default_factory=dict)
    next_action: NextAction | None = None
    # When `provider_ref` names the hosted checkout that collects the payment (a Stripe Checkout Session),
    # the payment's own reference once there is one (its PaymentIntent): what refunds and cancels use.
    payment_ref: str | None = None


class RefundState(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # asynchronous (Alipay, WeChat Pay): `refund.updated` / `refund.failed` will say
    FAILED = "failed"  # the money went back to our provider balance: pay the customer another way


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_ref: str
    succeeded: bool
    code: str | None = None  # provider's failure code when not succeeded
    state: RefundState | None = None  # None: SUCCEEDED if `succeeded`, else FAILED


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified webhook event, reduced to what the platform acts on."""

    event_id: str
    # payment.succeeded | payment.failed | payment.processing | payment.canceled | payment.requires_action
    # | refund.succeeded | refund.pending | refund.failed; other provider types are kept as they are
    type: str
    provider_ref: str  # the payment it is about
    payment_id: str | None  # our payment id, echoed back from metadata
    amount: Money | None
    failure_code: str | None
    payload: Mapping[str, object]
    refund_ref: str | None = None  # refund events: the provider's refund id (re_...)
    refund_id: str | None = None  # refund events: our refund id, echoed back from metadata
    checkout_ref: str | None = None  # hosted checkout events: the checkout's own id (cs_...)


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    """A payment as the provider lists it (reconciliation)."""

    provider_ref: str
    payment_id: str | None  # our id, from metadata
    order_id: str | None  # our order, from metadata
    status: PaymentStatus
    amount: Money
    amount_received: Money
    created: datetime


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    """A refund as the provider lists it (reconciliation)."""

    refund_ref: str
    provider_ref: str  # the payment refunded
    refund_id: str | None  # our id, from metadata
    amount: Money
    state: RefundState
    created: datetime


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

    def get_payment(self, provider_ref: str) -> PaymentResult:
        """The payment as the provider has it now (before a retry, after PortUnavailable)."""
        ...

    def cancel_payment(self, provider_ref: str, idempotency_key: str) -> PaymentResult:
        """Cancel a payment that has not succeeded (a new attempt replaces it). A payment that succeeded
        meanwhile comes back SUCCEEDED: the caller refunds it, never delivers twice."""
        ...

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult: ...

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify the signature on the raw bytes and decode; raises InvalidSignature, or UnusableEvent
        for a verified body that is not an event we understand."""
        ...

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        """Rebuild the event of a payload verified earlier (the inbox); raises UnusableEvent."""
        ...


@runtime_checkable
class ListablePaymentProvider(PaymentProvider, Protocol):
    """A provider whose records can be listed, so that reconciliation can compare them with ours."""

    def list_payments(self, created_gte: datetime) -> list[ProviderPayment]: ...

    def list_refunds(
        self, created_gte: datetime, provider_ref: str | None = None
    ) -> list[ProviderRefund]: ...


@runtime_checkable
class HostedCheckoutProvider(PaymentProvider, Protocol):
    """A provider whose hosted checkout (a Stripe Checkout Session) collects a payment under the checkout's
    own reference until it is paid: the payment's events may then name its own reference (its PaymentIntent),
    which we do not know yet. Any other stored reference must be the one an event names."""

    checkout_ref_prefix: str  # how the references of its checkouts begin ("cs_")


@dataclass(frozen=True, slots=True)
class SavedCard:
    """The card a payment saved for off-session use: the provider's customer and payment method."""

    customer_ref: str
    payment_method_ref: str
    brand: str = ""
    last4: str = ""


@dataclass(frozen=True, slots=True)
class OffSessionCharge:
    payment_id: str  # our id, also the idempotency key at the provider
    order_id: str
    amount: Money
    customer_ref: str
    payment_method_ref: str
    description: str


@dataclass(frozen=True, slots=True)
class OffSessionResult:
    """SUCCEEDED, FAILED with the provider's code (card_declined, authentication_required, ...), or
    PROCESSING; a transport problem raises PortUnavailable (retry with the same payment id)."""

    provider_ref: str
    status: PaymentStatus
    code: str = ""


class SavedCardProvider(Protocol):
    """Saved cards and off-session charges (auto top-up) at a card provider."""

    name: str  # the PaymentProvider it shares its payments with (webhooks, refunds)

    def create_customer(self, reference: str, email: str) -> str:
        """A customer to save a card to; the same `reference` (an idempotency key) gives the same one."""
        ...

    def saved_card(self, provider_ref: str) -> SavedCard | None:
        """The card a succeeded payment (`provider_ref`, as PaymentProvider stores it) saved, or None."""
        ...

    def charge_off_session(self, charge: OffSessionCharge) -> OffSessionResult: ...

    def forget(self, payment_method_ref: str, idempotency_key: str) -> None:
        """Detach a saved card (auto top-up cancelled); one already detached is not an error."""
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
class CarrierBundle:
    """A bundle a line holds at its carrier, as the carrier reports it."""

    product_ref: str  # the carrier's (or aggregator's) product id
    name: str
    data_left_mb: int | None  # None: no data in it, or unlimited
    data_total_mb: int | None
    unlimited: bool
    expires_at: str | None  # ISO 8601 as the carrier states it


@dataclass(frozen=True, slots=True)
class CarrierBalance:
    msisdn: str
    balance: Money
    valid_until: str | None  # ISO date as the carrier states it
    bundles: tuple[CarrierBundle, ...] = ()


class CarrierGateway(Protocol):
    def topup(self, network_id: str, msisdn: str, amount: Money, reference: str) -> CarrierResult: ...

    def activate_bundle(
        self, network_id: str, msisdn: str, product_ref: str, price: Money, reference: str
    ) -> CarrierResult:
        """Activate the carrier's product `product_ref` on the line (idempotent by `reference`); the line's
        credit is not touched. Same outcomes as `topup`; `status` and `cancel` take the same reference."""
        ...

    def float_balance(self) -> Money | None:
        """What is left of our prepaid float at an aggregator (None: a direct gateway has none)."""
        ...

    def status(self, network_id: str, reference: str) -> CarrierResult: ...

    def cancel(self, network_id: str, reference: str) -> CarrierResult:
        """Void a reference so that a late arrival is refused; CONFIRMED if it had already been applied."""
        ...

    def balance(self, network_id: str, msisdn: str) -> CarrierBalance | CarrierResult: ...

    def buy_from_balance(
        self, network_id: str, msisdn: str, plan_code: str, price: Money, reference: str
    ) -> CarrierResult:
        """Buy a bundle with the line's own credit at the carrier, which activates it (idempotent by
        `reference`). `plan_code` is the route's product id for the plan (the `carrier_product` table), as
        for `activate_bundle`. CONFIRMED with `balance_after`, REJECTED with a code (insufficient_balance,
        not_on_network, unknown_product, ...), RETRY or UNKNOWN."""
        ...


@dataclass(frozen=True, slots=True)
class CarrierTransaction:
    """One sale as an aggregator's records show it, for reconciliation."""

    reference: str  # our reference (the order id), the aggregator's external_id
    carrier_ref: str
    state: str  # "completed", "pending", "failed" (declined, rejected, cancelled) or "reversed"
    msisdn: str
    product_ref: str
    amount: Money  # the value delivered to the line (not what it cost us)


@runtime_checkable
class CarrierLedger(Protocol):
    """A carrier route that can list its sales (an aggregator): `topup reconcile carriers` reads it."""

    def transactions(self, since: str, until: str) -> list[CarrierTransaction]:
        """Every sale created between two ISO 8601 instants; raises PortUnavailable if it cannot tell."""
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


# ---------------------------------------------------------------- messaging


class SmsSender(Protocol):
    def send(self, to: str, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an e-mail. With a `content_id` it is an inline part the HTML shows
    (`<img src="cid:...">`); without one, an attachment the reader can save."""

    filename: str
    content_type: str  # "application/pdf", "image/png"
    data: bytes
    content_id: str = ""


class Mailer(Protocol):
    """Sends one e-mail: `body` is its plain text; `html`, when given, the same message as HTML."""

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        html: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> None: ...


class NotSent(Exception):
    """Raised by a sender when the peer certainly did not take the message (refused, unreachable):
    safe to retry. Any other exception means "unknown" and is never retried, so nothing goes twice."""


# ---------------------------------------------------------------- kiosk devices


@runtime_checkable
class CashAcceptor(Protocol):
    """The device service of a kiosk's note and coin acceptor. Inserted cash waits in its escrow until the
    platform has it stacked (the sale is made) or handed back (cancelled). Raises PortUnavailable
    (code `cash_device_unavailable`) when the device cannot be reached."""

    def open_session(self, session_id: str, device_url: str) -> None: ...

    def hand_back(self, session_id: str, device_url: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ReaderAction:
    """What a card-present reader is doing: waiting for a card, done, or failed (declined, cancelled)."""

    status: str  # in_progress | succeeded | failed | none
    payment_ref: str | None = None  # the provider's payment it is processing
    failure_code: str | None = None


@runtime_checkable
class CardReader(Protocol):
    """A card-present payment terminal beside a kiosk (Stripe Terminal's readers). The payment itself is
    a provider payment like any other, settled by its signed webhook; the reader only collects the card."""

    def process(self, reader_id: str, payment_ref: str) -> ReaderAction: ...

    def action(self, reader_id: str) -> ReaderAction: ...

    def cancel(self, reader_id: str) -> ReaderAction: ...
