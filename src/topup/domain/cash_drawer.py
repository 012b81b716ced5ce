"""Money an agent takes on the spot, in the ledger: cash in a counter's drawer, and goodwill we give.

Both are captured like any payment, through their provider's clearing account (`counter`, `goodwill`);
the money then sits where it really is: the cash in the drawer of the counter it was paid at (until it
is handed back or banked), a goodwill top-up as our expense. A refund moves it back the same way, once.
Goodwill credit on one of our hosted lines is an expense moved straight to the line's credit.
"""

from __future__ import annotations

from typing import Final

from topup.domain.ledger import AccountSpec, AccountType, Posting, line_credit, provider_clearing
from topup.domain.money import Money

PROVIDER: Final = "counter"  # cash at a counter
GOODWILL: Final = "goodwill"  # a free top-up an agent gives
_CODES: Final = {
    PROVIDER: ("cash_taken", "cash_handed_back"),
    GOODWILL: ("goodwill_given", "goodwill_reversed"),
}


def cash_drawer(counter: str, currency: str = "EUR") -> AccountSpec:
    """The notes and coins in one counter's drawer (an asset)."""
    clearing = provider_clearing(counter, currency)  # validates the counter as an account key
    return AccountSpec(
        clearing.id.replace("provider_clearing:", "cash_drawer:", 1), f"Cash drawer {counter}",
        AccountType.ASSET, currency, no_overdraft=True,
    )  # fmt: skip


def goodwill_expense(currency: str = "EUR") -> AccountSpec:
    return AccountSpec(
        f"goodwill_expense:{currency}", "Goodwill expense", AccountType.EXPENSE, currency, False
    )


def _source(provider: str, holder: str, currency: str) -> AccountSpec:
    return goodwill_expense(currency) if provider == GOODWILL else cash_drawer(holder, currency)


def funded(order_id: str, provider: str, holder: str, amount: Money) -> list[Posting]:
    """The money of an order paid on the spot goes where it sits (from the provider's clearing)."""
    return [
        Posting(
            f"{order_id}:funded", _source(provider, holder, amount.currency),
            provider_clearing(provider, amount.currency), amount, _CODES[provider][0],
        )
    ]  # fmt: skip


def paid_back(refund_id: str, provider: str, holder: str, amount: Money) -> list[Posting]:
    """A refund: the cash handed back out of the drawer, or the goodwill expense reversed."""
    return [
        Posting(
            f"{refund_id}:paid_back", provider_clearing(provider, amount.currency),
            _source(provider, holder, amount.currency), amount, _CODES[provider][1],
        )
    ]  # fmt: skip


def goodwill_credit(request_id: str, line_id: str, amount: Money) -> list[Posting]:
    """Goodwill credit on a hosted line: our expense, the customer's credit."""
    return [
        Posting(
            f"{request_id}:goodwill", goodwill_expense(amount.currency),
            line_credit(line_id.lower(), amount.currency), amount, "goodwill_credit",
        )
    ]  # fmt: skip
