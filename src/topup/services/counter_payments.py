"""Cash at an operator's shop counter as a payment provider: paid on the spot, refunded by hand.

An agent's cash sale is made with `paid_orders.create_paid_order` (provider `counter`, reference
`<counter>/<order id>`); its cash is moved into that counter's drawer in the same transaction. A refund is
the agent handing the cash back: the drawer pays it out, once per refund id.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from topup.clock import now
from topup.db import ledger
from topup.db.models import Transfer
from topup.domain.cash_drawer import PROVIDER, cash_handed_back
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

NOT_A_CHECKOUT = "a counter payment is cash taken by an agent"


class CounterPaymentProvider:
    name = PROVIDER

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", NOT_A_CHECKOUT)

    def get_payment(self, provider_ref: str) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", NOT_A_CHECKOUT)

    def cancel_payment(self, provider_ref: str, idempotency_key: str) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", NOT_A_CHECKOUT)

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        """The cash goes back out of the drawer of the counter that took it; idempotent per refund id."""
        counter, _, _order_id = provider_ref.partition("/")
        postings = cash_handed_back(refund_id, counter, amount)
        with transaction.atomic():
            if not Transfer.objects.filter(id=postings[0].transfer_id).exists():
                ledger.post(postings, now=now())
        return RefundResult(refund_ref=f"cash:{refund_id}", succeeded=True)

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        raise InvalidSignature("a counter sends no webhooks")

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        raise UnusableEvent("a counter sends no webhooks")
