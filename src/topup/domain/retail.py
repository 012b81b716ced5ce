"""Shop sales: which commission a retailer earns, what a sale moves on its float, when a sale may be voided.

Errors:
InvalidInput  invalid_sale_kind, invalid_tender, cash_given_too_small, invalid_commission, invalid_amount
NotFound      retailer_not_found, terminal_not_found, sale_not_found
Conflict      float_insufficient        the sale would take the float below minus the credit limit
Conflict      terminal_ref_conflict     the terminal's reference was used for another request
Conflict      sale_not_voidable         the direct top-up went to the carrier, or the sale is voided already
Conflict      void_window_passed        a PIN sold more than 72 h ago
Conflict      voucher_already_used      the PIN of the sale was redeemed: it cannot be voided
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from topup.domain.errors import Conflict, InvalidInput
from topup.domain.money import Money

PIN_VOID_WINDOW: Final = timedelta(hours=72)
MAX_COMMISSION_BP: Final = 5_000  # half the price: anything above is a typo, not a deal


class SaleKind(StrEnum):
    DIRECT = "direct"  # the number is topped up at once
    PIN = "pin"  # a voucher PIN printed on the receipt


class SaleStatus(StrEnum):
    SOLD = "sold"
    VOIDED = "voided"
    REFUNDED = "refunded"  # a direct top-up the carrier did not deliver: the money went back to the float


class TenderKind(StrEnum):
    CASH = "cash"
    CARD = "card"


def sale_kind(value: str) -> SaleKind:
    try:
        return SaleKind(value)
    except ValueError:
        raise InvalidInput("kind is direct or pin", code="invalid_sale_kind", field="kind") from None


def tender_kind(value: str) -> TenderKind:
    try:
        return TenderKind(value)
    except ValueError:
        raise InvalidInput("tender is cash or card", code="invalid_tender", field="tender") from None


@dataclass(frozen=True, slots=True)
class CommissionRule:
    """A retailer's commission in basis points, for a plan, a network, or (both empty) everything else."""

    rate_bp: int
    network_id: str = ""
    plan_id: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.rate_bp <= MAX_COMMISSION_BP:
            raise InvalidInput(
                f"a commission is 0 to {MAX_COMMISSION_BP} basis points", code="invalid_commission",
                field="bps",
            )  # fmt: skip

    def specificity(self, network_id: str, plan_id: str) -> int:
        """How closely the rule fits the sale: 3 plan and network, 2 plan, 1 network, 0 default, -1 not."""
        if self.plan_id and self.plan_id != plan_id:
            return -1
        if self.network_id and self.network_id != network_id:
            return -1
        return (2 if self.plan_id else 0) + (1 if self.network_id else 0)


def commission_bp(rules: Iterable[CommissionRule], network_id: str, plan_id: str) -> int:
    """The most specific rule's rate (plan over network over the retailer's default); 0 without a rule."""
    fitting = [(rule.specificity(network_id, plan_id), rule.rate_bp) for rule in rules]
    fitting = [pair for pair in fitting if pair[0] >= 0]
    return max(fitting)[1] if fitting else 0


def commission_of(price: Money, rate_bp: int) -> Money:
    """The retailer's share of a price, rounded down to the cent (a fraction of a cent stays ours)."""
    return Money(price.amount_minor * rate_bp // 10_000, price.currency)


def float_cost(price: Money, commission: Money) -> Money:
    """What a sale takes off the float: the price, less the commission credited back at once."""
    return price - commission


def change_due(price: Money, tender: TenderKind, cash_given: Money | None) -> Money | None:
    """The change for cash handed over; None for a card or for cash without the amount counted."""
    if tender is TenderKind.CARD or cash_given is None:
        return None
    if cash_given < price:
        raise InvalidInput(
            "the cash given is less than the price", code="cash_given_too_small", field="cash_given_minor"
        )
    return cash_given - price


def check_pin_voidable(sold_at: datetime, at: datetime, voucher_state: str) -> None:
    """A PIN sale is voided only while the PIN is unused and within 72 hours of the sale."""
    if voucher_state == "redeemed":
        raise Conflict("the PIN was redeemed already", code="voucher_already_used", field="terminal_ref")
    if voucher_state != "active":
        raise Conflict(f"the PIN is {voucher_state}", code="sale_not_voidable", field="terminal_ref")
    if at - sold_at > PIN_VOID_WINDOW:
        raise Conflict(
            "a PIN sale is voided within 72 hours", code="void_window_passed", field="terminal_ref"
        )


def check_direct_voidable(order_status: str) -> None:
    """A direct top-up is voided only while the carrier has not been asked (the order is still `paid`)."""
    if order_status != "paid":
        raise Conflict(
            f"the top-up is {order_status}: the carrier has it already", code="sale_not_voidable",
            field="terminal_ref",
        )  # fmt: skip


def check_sold(status: str) -> None:
    if status != SaleStatus.SOLD:
        raise Conflict(f"the sale is {status}", code="sale_not_voidable", field="terminal_ref")


def float_insufficient() -> Conflict:
    return Conflict(
        "the sale is beyond the retailer's float and credit limit", code="float_insufficient", field="plan_id"
    )


def ref_conflict() -> Conflict:
    return Conflict(
        "this terminal_ref was used for another request", code="terminal_ref_conflict", field="terminal_ref"
    )


def positive_amount(amount_minor: int, field: str = "amount") -> int:
    if amount_minor <= 0:
        raise InvalidInput("the amount must be positive", code="invalid_amount", field=field)
    return amount_minor
