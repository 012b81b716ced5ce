"""Money taken on the spot by an agent as payment providers: cash at a shop counter (`counter`) and a
goodwill top-up (`goodwill`). Paid when the order is made, refunded by moving the money back.

An agent's order is made with `paid_orders.create_paid_order` (provider reference `<holder>/<order id>`,
the holder being the counter, or `goodwill`) and the money moved to where it sits (the counter's drawer,
the goodwill expense) in the same transaction. A refund is the agent handing the cash back, or the
expense reversed: once per refund id.
"""

from __future__ import annotations

from django.db import transaction

from topup.clock import now
from topup.db import ledger
from topup.db.models import Transfer
from topup.domain.cash_drawer import paid_back
from topup.domain.money import Money
from topup.ports import RefundResult
from topup.services.spot_payments import SettledOnTheSpot


class SpotPaymentProvider(SettledOnTheSpot):
    """One provider per name (`counter`, `goodwill`): paid when the agent makes the order."""

    settled_how = "this payment is made on the spot by an agent"

    def __init__(self, name: str) -> None:
        self.name = name

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        """The money goes back where it came from (the drawer, the expense); idempotent per refund id."""
        holder, _, _order_id = provider_ref.partition("/")
        postings = paid_back(refund_id, self.name, holder, amount)
        with transaction.atomic():
            if not Transfer.objects.filter(id=postings[0].transfer_id).exists():
                ledger.post(postings, now=now())
        return RefundResult(refund_ref=f"{self.name}:{refund_id}", succeeded=True)
