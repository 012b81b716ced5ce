"""Reading the ledger's balances, and the roll-up that folds transfers into append-only accounts' totals.

An append-only account's balance is its totals plus its transfers still marked `rollup_pending`; each
read is one SQL statement, so that it sees the account row and the transfers in one snapshot and a
roll-up committing meanwhile is counted either wholly before or wholly after, never twice or not at all.
The roll-up claims the transfers it folds (their flag, under row locks that concurrent roll-ups skip) in
the same transaction as it moves the totals: a transfer that commits late, out of id order, is simply
still flagged and folded by the next round.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F

from topup.db.models import Account, Transfer
from topup.domain.errors import LedgerError
from topup.domain.ledger import AccountType, normal_side, orders_in_flight

ROLLUP_BATCH = 500  # transfers per roll-up transaction (short locks on the shared account rows)

# Per account: its totals plus its transfers that the roll-up has not folded in yet (no-overdraft
# accounts have none: their postings moved the totals already).
_TOTALS_SQL = """
SELECT a.id, a.type, a.currency,
  a.debits_posted + COALESCE((SELECT SUM(t.amount_minor) FROM ledger_transfer t
    WHERE t.debit_account_id = a.id AND t.rollup_pending AND t.status = 'posted' AND NOT a.no_overdraft), 0),
  a.credits_posted + COALESCE((SELECT SUM(t.amount_minor) FROM ledger_transfer t
    WHERE t.credit_account_id = a.id AND t.rollup_pending AND t.status = 'posted' AND NOT a.no_overdraft), 0),
  a.debits_pending + COALESCE((SELECT SUM(t.amount_minor) FROM ledger_transfer t
    WHERE t.debit_account_id = a.id AND t.rollup_pending AND t.status = 'pending' AND NOT a.no_overdraft), 0),
  a.credits_pending + COALESCE((SELECT SUM(t.amount_minor) FROM ledger_transfer t
    WHERE t.credit_account_id = a.id AND t.rollup_pending AND t.status = 'pending' AND NOT a.no_overdraft), 0)
FROM ledger_account a
"""
_ONE_ACCOUNT_SQL = _TOTALS_SQL + "WHERE a.id = %s"
_ALL_ACCOUNTS_SQL = _TOTALS_SQL + "ORDER BY a.id"
_IN_FLIGHT_SQL = """
SELECT COALESCE(SUM(CASE WHEN credit_account_id = %s AND status = 'posted' THEN amount_minor
                         WHEN debit_account_id = %s THEN -amount_minor ELSE 0 END), 0)
FROM ledger_transfer
WHERE order_id = %s AND status IN ('posted', %s) AND (debit_account_id = %s OR credit_account_id = %s)
"""


@dataclass(frozen=True, slots=True)
class AccountTotals:
    id: str
    type: str
    currency: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balance(self) -> int:
        """The posted balance on the account's normal side (positive = what the account holds)."""
        if normal_side(AccountType(self.type)) == "debit":
            return self.debits_posted - self.credits_posted
        return self.credits_posted - self.debits_posted


def account_totals(account_id: str | None = None) -> list[AccountTotals]:
    """Every account's totals (or one account's), unrolled transfers included, in account id order."""
    with connection.cursor() as cursor:
        if account_id:
            cursor.execute(_ONE_ACCOUNT_SQL, [account_id])
        else:
            cursor.execute(_ALL_ACCOUNTS_SQL)
        return [
            AccountTotals(row[0], row[1], row[2], *(int(v) for v in row[3:])) for row in cursor.fetchall()
        ]


def balance_of(account_id: str) -> int:
    """The posted balance on the account's normal side (positive = what the account holds)."""
    found = account_totals(account_id)
    if not found:
        raise Account.DoesNotExist(f"no ledger account {account_id}")
    return found[0].balance


def in_flight(order_id: str, currency: str = "EUR", *, held_out: bool = False) -> int:
    """An order's paid money not yet delivered or refunded, in one query (`held_out`: less what pending
    transfers hold to take out of it)."""
    account = orders_in_flight(currency).id
    pending = "pending" if held_out else "posted"
    with connection.cursor() as cursor:
        cursor.execute(_IN_FLIGHT_SQL, [account, account, order_id, pending, account, account])
        return int(cursor.fetchone()[0])


def below_zero(order_ids: list[str], currency: str) -> list[str]:
    """Of these orders, those whose money in flight less what pending transfers hold is below zero; one
    query (`in_flight(..., held_out=True)` for each of them)."""
    account = orders_in_flight(currency).id
    # Only placeholders are put into this SQL (one per order id): hence the noqa S608.
    sql = (  # noqa: S608
        "SELECT order_id FROM ledger_transfer WHERE order_id IN ({}) AND status IN ('posted', 'pending') "
        "AND (debit_account_id = %s OR credit_account_id = %s) GROUP BY order_id HAVING "
        "SUM(CASE WHEN credit_account_id = %s AND status = 'posted' THEN amount_minor "
        "WHEN debit_account_id = %s THEN -amount_minor ELSE 0 END) < 0"
    ).format(", ".join(["%s"] * len(order_ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*order_ids, account, account, account, account])
        return sorted(str(row[0]) for row in cursor.fetchall())


def orders_holding(currency: str = "EUR") -> dict[str, int]:
    """Every order whose money in flight is not zero, with what it holds (for checks and the chaos run)."""
    account = orders_in_flight(currency).id
    sql = (
        "SELECT order_id, SUM(CASE WHEN credit_account_id = %s THEN amount_minor ELSE -amount_minor END) "
        "FROM ledger_transfer WHERE status = 'posted' AND (debit_account_id = %s OR credit_account_id = %s) "
        "GROUP BY order_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [account, account, account])
        return {str(order_id): int(held) for order_id, held in cursor.fetchall() if int(held) != 0}


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    debits_minor: int
    credits_minor: int
    transfers_minor: int

    @property
    def balanced(self) -> bool:
        return self.debits_minor == self.credits_minor == self.transfers_minor


_TRIAL_SQL = """
SELECT currency, SUM(d), SUM(c), SUM(t) FROM (
  SELECT currency, debits_posted AS d, credits_posted AS c, 0 AS t FROM ledger_account
  UNION ALL
  SELECT t.currency,
         CASE WHEN da.no_overdraft THEN 0 ELSE t.amount_minor END,
         CASE WHEN ca.no_overdraft THEN 0 ELSE t.amount_minor END, 0
  FROM ledger_transfer t
  JOIN ledger_account da ON da.id = t.debit_account_id
  JOIN ledger_account ca ON ca.id = t.credit_account_id
  WHERE t.rollup_pending AND t.status = 'posted'
  UNION ALL
  SELECT currency, 0, 0, amount_minor FROM ledger_transfer WHERE status = 'posted'
) books GROUP BY currency ORDER BY currency
"""


def trial_balance() -> list[CurrencyTotals]:
    """Per currency: Σ debits and Σ credits over accounts (unrolled transfers included), and Σ posted
    transfers; all three must agree. One statement, so one snapshot."""
    with connection.cursor() as cursor:
        cursor.execute(_TRIAL_SQL)
        return [CurrencyTotals(str(r[0]), int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in cursor]


def roll_up(batch: int = ROLLUP_BATCH, rounds: int = 20) -> int:
    """Fold resolved transfers still flagged into their append-only accounts' totals; how many it folded.

    Each round is one transaction: lock a batch of flagged transfers (skipping those a concurrent
    roll-up holds), clear their flag, add them to the totals. Balances read the same before and after."""
    folded = 0
    for _ in range(rounds):
        with transaction.atomic():
            done = _fold_batch(batch)
        folded += done
        if done < batch:
            break
    return folded


def _fold_batch(batch: int) -> int:
    rows = list(
        Transfer.objects.filter(rollup_pending=True, status__in=["posted", "voided"])
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("id", "debit_account_id", "credit_account_id", "amount_minor", "status")[:batch]
    )
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    if Transfer.objects.filter(id__in=ids, rollup_pending=True).update(rollup_pending=False) != len(ids):
        raise LedgerError("a transfer was rolled up twice", code="rollup_conflict")  # rolls this round back
    touched = {row[1] for row in rows} | {row[2] for row in rows}
    guarded = set(Account.objects.filter(id__in=touched, no_overdraft=True).values_list("id", flat=True))
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, debit, credit, amount, status in rows:
        if status != "posted":
            continue  # a voided transfer moved no totals: only its flag is cleared
        if debit not in guarded:
            deltas[debit][0] += amount
        if credit not in guarded:
            deltas[credit][1] += amount
    for account_id in sorted(deltas):  # in id order, like every lock on account rows
        debits, credits = deltas[account_id]
        Account.objects.filter(id=account_id).update(
            debits_posted=F("debits_posted") + debits, credits_posted=F("credits_posted") + credits
        )
    return len(rows)
