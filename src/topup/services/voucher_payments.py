"""The voucher store as a payment provider: a redeemed PIN paid for the order; a refund gives the PIN back.

A voucher's money was collected when the shop sold it, so there is nothing to pay out: refunding an order
paid by voucher makes the voucher usable again (the customer can retry, on this line or another).
"""

from __future__ import annotations

from topup.db.models import Voucher
from topup.domain.money import Money
from topup.ports import RefundResult
from topup.services.spot_payments import SettledOnTheSpot

NOT_A_CHECKOUT = "a voucher payment is settled when the PIN is redeemed"


class VoucherPaymentProvider(SettledOnTheSpot):
    name = "voucher"
    settled_how = NOT_A_CHECKOUT

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        """Give back the voucher that paid this order (`<serial>/<order id>`); idempotent."""
        from topup.services import vouchers  # noqa: PLC0415 - the voucher service itself places orders

        serial, _, order_id = provider_ref.partition("/")
        if vouchers.reinstate(serial, order_id=order_id):
            return RefundResult(refund_ref=f"voucher:{serial}", succeeded=True)
        voucher = Voucher.objects.filter(id=serial).values("order_id").first()
        if voucher is not None and voucher["order_id"] != order_id:
            # Given back earlier and used since for another order: this order's refund is done.
            return RefundResult(refund_ref=f"voucher:{serial}", succeeded=True)
        return RefundResult(refund_ref="", succeeded=False, code="voucher_unknown")
