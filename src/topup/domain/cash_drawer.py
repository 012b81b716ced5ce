"""The cash drawer of an operator's shop counter in the ledger, and the two moves of an agent's cash sale.

A cash sale is captured like any payment, through the `counter` provider's clearing account; the cash
itself then sits in the drawer of the counter it was paid at, until it is handed back (a refund) or
banked. Goodwill credit on a hosted line is an expense moved to the line's credit.
"""

from __future__ import annotations

from topup.domain.ledger import AccountSpec, AccountType, Posting, line_credit, provider_clearing
from topup.domain.money import Money

PROVIDER = "counter"


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


def cash_taken(order_id: str, counter: str, amount: Money) -> list[Posting]:
    """The customer's cash goes into the counter's drawer (from the counter provider's clearing)."""
    return [
        Posting(
            f"{order_id}:drawer", cash_drawer(counter, amount.currency),
            provider_clearing(PROVIDER, amount.currency), amount, "cash_taken",
        )
    ]  # fmt: skip


def cash_handed_back(refund_id: str, counter: str, amount: Money) -> list[Posting]:
    """The agent hands the cash back out of the drawer: the refund the counter provider makes."""
    return [
        Posting(
            f"{refund_id}:cash", provider_clearing(PROVIDER, amount.currency),
            cash_drawer(counter, amount.currency), amount, "cash_handed_back",
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
