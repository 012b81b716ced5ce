"""The voucher store as a payment provider: a redeemed PIN paid for the order; a refund gives the PIN back.

A voucher's money was collected when the shop sold it, so there is nothing to pay out: refunding an order
paid by voucher makes the voucher usable again (the customer can retry, on this line or another).
"""

from __future__ import annotations

from collections.abc import Mapping

from topup.db.models import Voucher
from topup.domain.money import Money
from topup.services.ports import (
    InvalidSignature,
    PaymentEvent,
    PaymentRequest,
    PaymentResult,
    ProviderRequestError,
    RefundResult,
)


class VoucherPaymentProvider:
    name = "voucher"

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", "voucher payments are made by redeeming a PIN")

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        """Re-activate the voucher that paid this order (`<serial>/<order id>`); idempotent."""
        serial, _, order_id = provider_ref.partition("/")
        Voucher.objects.filter(id=serial, state="redeemed", order_id=order_id).update(
            state="active", redeemed_at=None, redeemed_by="", channel="", order=None
        )
        voucher = Voucher.objects.filter(id=serial).values("state", "order_id").first()
        if voucher is None:
            return RefundResult(refund_ref="", succeeded=False, code="voucher_unknown")
        if voucher["state"] == "active" or voucher["order_id"] != order_id:
            # Active again, or given back earlier and already used for another order: this order is refunded.
            return RefundResult(refund_ref=f"voucher:{serial}", succeeded=True)
        return RefundResult(refund_ref="", succeeded=False, code=f"voucher_{voucher['state']}")

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        raise InvalidSignature("the voucher store sends no webhooks")
