"""The shape shared by payment providers that are paid on the spot (a voucher redeemed, cash at a counter,
goodwill): no checkout to create, fetch or cancel at a peer and no webhook; only a refund of their own."""

from __future__ import annotations

from collections.abc import Mapping

from topup.ports import (
    InvalidSignature,
    PaymentEvent,
    PaymentRequest,
    PaymentResult,
    ProviderRequestError,
    UnusableEvent,
)


class PaidOnTheSpot:
    """Refuses what a provider paid on the spot cannot do; a subclass sets `name` and `refund`."""

    name = ""
    why = "this payment is settled on the spot"

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", self.why)

    def get_payment(self, provider_ref: str) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", self.why)

    def cancel_payment(self, provider_ref: str, idempotency_key: str) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", self.why)

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        raise InvalidSignature(f"{self.name} sends no webhooks")

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        raise UnusableEvent(f"{self.name} sends no webhooks")
