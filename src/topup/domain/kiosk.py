"""The self-service kiosk's cash rules: what the validator takes, when a note is stacked or handed back from
escrow, and how a kiosk that gives no coins back settles an overpayment.

A kiosk has no coin hopper, so the difference between what was inserted and the price is given as **extra
credit**: a second top-up of the same number with the network's credit plan of exactly that amount. A note or
coin is only taken (stacked) when what would then be inserted is either still short of the price, exactly
the price, or over it by such an amount; any other one is handed back from the escrow, as real validators do.
A plan whose price no sum of coins can reach (a bundle at € 2.99: the smallest coin is € 0.50) is sold by
card only.

Cancelling before the sale hands every inserted note and coin back: they wait in the acceptor's escrow until
the sale stacks them (the cash device service holds a session's cash until it is told to stack or return it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from topup.domain.errors import Conflict, InvalidInput

# What a Belgian kiosk's validator accepts, in euro cents: € 5/10/20/50 notes and € 0.50/1/2 coins.
NOTES_MINOR: tuple[int, ...] = (500, 1_000, 2_000, 5_000)
COINS_MINOR: tuple[int, ...] = (50, 100, 200)
ACCEPTED_MINOR: frozenset[int] = frozenset(NOTES_MINOR + COINS_MINOR)
SMALLEST_MINOR = min(COINS_MINOR)


class CashStatus(StrEnum):
    OPEN = "open"  # waiting for notes and coins
    PAID = "paid"  # the sale is made; the cash is stacked
    CANCELLED = "cancelled"  # the customer (or the idle timeout) gave up: the escrow is handed back


@dataclass(frozen=True, slots=True)
class Admission:
    """The validator's answer to one note or coin: stacked (`accepted`) or handed back, with a code."""

    accepted: bool
    code: str = ""  # why it was handed back: cash_denomination_refused | cash_no_change | cash_session_closed


def check_denomination(amount_minor: int) -> None:
    if amount_minor not in ACCEPTED_MINOR:
        raise InvalidInput(
            f"{amount_minor} is no note or coin the kiosk takes", code="cash_denomination_refused",
            field="denomination",
        )  # fmt: skip


def cash_payable(price_minor: int) -> bool:
    """Can notes and coins reach this price exactly? (Else it needs change in cents, which no plan is.)"""
    return price_minor > 0 and price_minor % SMALLEST_MINOR == 0


def change_plan_amount(excess_minor: int, credit_amounts_minor: Iterable[int]) -> int | None:
    """The credit plan amount that gives `excess_minor` back (0: no change owed), or None if none does."""
    if excess_minor == 0:
        return 0
    return excess_minor if excess_minor in set(credit_amounts_minor) else None


def admit(
    status: CashStatus,
    price_minor: int,
    inserted_minor: int,
    amount_minor: int,
    credit_amounts_minor: Iterable[int],
) -> Admission:
    """Is the note or coin of `amount_minor`, arriving with `inserted_minor` already taken, stacked?"""
    if status is not CashStatus.OPEN or inserted_minor >= price_minor:
        return Admission(False, "cash_session_closed")
    if amount_minor not in ACCEPTED_MINOR:
        return Admission(False, "cash_denomination_refused")
    after = inserted_minor + amount_minor
    if after < price_minor or change_plan_amount(after - price_minor, credit_amounts_minor) is not None:
        return Admission(True)
    return Admission(False, "cash_no_change")


def require_cash_payable(price_minor: int) -> None:
    if not cash_payable(price_minor):
        raise Conflict(
            f"a price of {price_minor} cannot be paid in notes and coins", code="cash_not_payable",
            field="plan_id",
        )  # fmt: skip
