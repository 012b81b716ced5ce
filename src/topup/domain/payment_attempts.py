"""Rules of paying an order: which method takes which currency, and when a new payment attempt may replace
the current one (declined or abandoned, the order still waiting, not too many tries)."""

from __future__ import annotations

from typing import Final

from topup.domain.errors import Conflict, InvalidInput

# Methods that charge one currency only (Bancontact is a Belgian debit scheme: EUR).
SINGLE_CURRENCY: Final = {"bancontact": "EUR"}

# Attempt statuses a buyer may walk away from: declined or cancelled, or never finished at the provider.
RETRYABLE: Final = frozenset({"failed", "requires_action"})


def check_method_currency(method: str, currency: str) -> None:
    """Refuse a method that cannot charge this currency, before the provider is asked."""
    only = SINGLE_CURRENCY.get(method)
    if only is not None and currency.upper() != only:
        raise InvalidInput(
            f"{method} charges {only} only, not {currency}", code=f"{method}_{only.lower()}_only",
            field="payment_method",
        )  # fmt: skip


def check_retry(
    *, order_status: str, past_expiry: bool, payment_status: str, attempts: int, max_attempts: int
) -> None:
    """A new attempt replaces the current one only while the order waits for its money: not after it was
    paid or ended (nor past its payment expiry, which the sweep has not applied yet), not while the bank
    is still confirming the current attempt, and at most `max_attempts` attempts in all."""
    if order_status == "expired" or (order_status == "awaiting_payment" and past_expiry):
        raise Conflict("the order expired: place a new order", code="order_expired", field="order_id")
    if order_status != "awaiting_payment":
        raise Conflict(
            f"the order is {order_status}: nothing to pay",
            code="order_not_awaiting_payment",
            field="order_id",
        )
    if payment_status == "processing":
        raise Conflict(
            "the bank is still confirming the current payment", code="payment_processing", field="order_id"
        )
    if payment_status not in RETRYABLE:
        raise Conflict(
            f"the current payment is {payment_status}", code="order_not_awaiting_payment", field="order_id"
        )
    if attempts >= max_attempts:
        raise Conflict(
            f"this order was tried {attempts} times already; place a new order",
            code="too_many_payment_attempts", field="order_id",
        )  # fmt: skip
