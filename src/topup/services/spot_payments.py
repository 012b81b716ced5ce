"""The shape of a payment provider whose payment is settled on the spot, inside our own transaction (a
voucher redeemed, a shop's float): no checkout to create, query or cancel, no webhooks. Only its refund
differs, so each such provider is this class and one `refund` method."""

from __future__ import annotations

from collections.abc import Mapping

from topup.domain.money import Money
from topup.ports import (
    InvalidSignature,
    PaymentEvent,
    PaymentRequest,
    PaymentResult,
    ProviderRequestError,
    RefundResult,
    UnusableEvent,
)


class SettledOnTheSpot:
    name = ""
    settled_how = "this payment is settled when it is made"  # the refusal's text, said by each provider

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", self.settled_how)

    def get_payment(self, provider_ref: str) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", self.settled_how)

    def cancel_payment(self, provider_ref: str, idempotency_key: str) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", self.settled_how)

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        raise NotImplementedError

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        raise InvalidSignature(f"the {self.name} provider sends no webhooks")

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        raise UnusableEvent(f"the {self.name} provider sends no webhooks")
