"""The persistent ledger: posts domain postings as immutable transfers and keeps account totals.

A no-overdraft account's totals are changed by one conditional UPDATE per posting (`... WHERE
credits >= debits + amount`), so it cannot go below zero even under concurrency; such accounts are
touched in id order so that concurrent postings on PostgreSQL cannot deadlock. Every other account is
append-only: the transfer row is the entry, and the roll-up (`ledger_books.roll_up`) folds it into the
account's totals later, so that deliveries never wait on the shared VAT, revenue or carrier rows.
An order's money in flight is checked per order (`_check_holds`), without an account row per order.
Reads (balances, trial balance, money in flight) live in `ledger_books` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from topup.db.hot_sql import insert_missing
from topup.db.ledger_books import (
    AccountTotals,
    CurrencyTotals,
    account_totals,
    balance_of,
    below_zero,
    in_flight,
    orders_holding,
    roll_up,
    trial_balance,
)
from topup.db.models import Account, Transfer
from topup.domain.errors import LedgerError
from topup.domain.ledger import (
    AccountSpec,
    Posting,
    TransferStatus,
    appends_only,
    booked_at,
    holds_taken,
    normal_side,
    resolve_pending,
)

__all__ = [
    "AccountTotals",
    "CurrencyTotals",
    "account_totals",
    "balance_of",
    "ensure_accounts",
    "in_flight",
    "orders_holding",
    "post",
    "post_many",
    "reserve",
    "resolve",
    "roll_up",
    "trial_balance",
]

_known_accounts: set[str] = set()
_KNOWN_ACCOUNTS_MAX = 50_000  # line accounts keep coming: the cache is forgotten now and then


def ensure_accounts(specs: Iterable[AccountSpec]) -> None:
    """Create the accounts that do not exist yet (cached per process: accounts are never deleted; tests
    that empty the tables clear `_known_accounts`)."""
    missing = {s.id: s for s in specs if s.id not in _known_accounts}
    if not missing:
        return
    # Look before inserting: INSERT .. ON CONFLICT on a row that a concurrent transfer has locked waits
    # for that transaction, and two such waits can deadlock on PostgreSQL.
    existing = set(Account.objects.filter(id__in=list(missing)).values_list("id", flat=True))
    new = [
        Account(id=s.id, name=s.name, type=s.type.value, currency=s.currency, no_overdraft=s.no_overdraft)
        for s in missing.values()
        if s.id not in existing
    ]
    if new:
        Account.objects.bulk_create(new, ignore_conflicts=True)
    # Remembered once committed: an append-only account's row is not touched again by its postings, so a
    # creation rolled back but remembered would fail a later transfer's foreign key at its commit.
    transaction.on_commit(lambda: _remember(missing))


def _remember(account_ids: Iterable[str]) -> None:
    if len(_known_accounts) > _KNOWN_ACCOUNTS_MAX:
        _known_accounts.clear()
    _known_accounts.update(account_ids)


@dataclass
class _Delta:
    spec: AccountSpec
    debits: int = 0
    credits: int = 0


def post(postings: Sequence[Posting], *, now: datetime, order_id: str | None = None) -> None:
    """Write the postings as posted transfers and move the no-overdraft accounts' totals, all or nothing
    (append-only accounts' totals follow at the roll-up; their balances count the transfers at once).

    Must run inside a transaction. A transfer id seen before raises `LedgerError(duplicate_transfer)`;
    a no-overdraft account, or an order's money in flight, that would go below zero raises
    `LedgerError(insufficient_funds)`.
    """
    _write([(order_id, postings)], now=now, status=TransferStatus.POSTED)


def post_many(by_order: Sequence[tuple[str, Sequence[Posting]]], *, now: datetime) -> None:
    """`post` for several orders' postings at once (a delivery batch): one INSERT of every transfer, and
    the orders' money in flight checked in one query; any refusal refuses them all."""
    _write(by_order, now=now, status=TransferStatus.POSTED)


def reserve(postings: Sequence[Posting], *, now: datetime, order_id: str | None = None) -> None:
    """Write pending transfers: their amounts are held (pending totals) until `resolve` posts or voids it."""
    _write([(order_id, postings)], now=now, status=TransferStatus.PENDING)


def _write(
    by_order: Sequence[tuple[str | None, Sequence[Posting]]], *, now: datetime, status: TransferStatus
) -> None:
    postings = [p for _order_id, some in by_order for p in some]
    if not postings:
        return
    rows = [_transfer(p, order_id, now, status) for order_id, some in by_order for p in some]
    # One statement, no savepoint: a transfer id seen before is skipped by the INSERT and refused here.
    written = insert_missing(rows)
    if len(written) != len(rows):
        # All or nothing: the rows this call did write go too (they are this transaction's own).
        Transfer.objects.filter(id__in=written).delete()
        raise LedgerError("a transfer with this id exists already", code="duplicate_transfer")
    deltas: dict[str, _Delta] = {}
    for p in postings:
        deltas.setdefault(p.debit.id, _Delta(p.debit)).debits += p.amount.amount_minor
        deltas.setdefault(p.credit.id, _Delta(p.credit)).credits += p.amount.amount_minor
    pending = status is TransferStatus.PENDING
    ensure_accounts(d.spec for d in deltas.values() if appends_only(d.spec.no_overdraft))
    # Only no-overdraft accounts have their row updated (append-only ones wait for the roll-up). Every
    # lock on an account row is taken in account id order, so that concurrent transfers on PostgreSQL
    # cannot deadlock. (Transfers' foreign keys are checked at commit, with key-share locks that do not
    # conflict with these updates nor with the roll-up's.)
    for account_id in sorted(deltas):
        if not appends_only(deltas[account_id].spec.no_overdraft):
            ensure_accounts([deltas[account_id].spec])
            _apply_delta(deltas[account_id], pending=pending)
    currencies = {p.hold: p.amount.currency for p in postings}
    by_currency: dict[str, list[str]] = {}
    for held_for in sorted(holds_taken(postings)):
        by_currency.setdefault(currencies[held_for], []).append(held_for)
    for currency, order_ids in sorted(by_currency.items()):
        _check_holds(order_ids, currency)


def _transfer(p: Posting, order_id: str | None, now: datetime, status: TransferStatus) -> Transfer:
    if p.hold and order_id and p.hold != order_id:
        raise LedgerError(f"posting {p.transfer_id} holds for another order", code="invalid_posting")
    return Transfer(
        id=p.transfer_id,
        debit_account_id=p.debit.id,
        credit_account_id=p.credit.id,
        amount_minor=p.amount.amount_minor,
        currency=p.amount.currency,
        status=status.value,
        code=p.code,
        order_id=p.hold or order_id,
        metadata=dict(p.metadata),
        created_at=now,
        booked_at=booked_at(p.transfer_id),
        resolved_at=now if status is TransferStatus.POSTED else None,
        rollup_pending=appends_only(p.debit.no_overdraft) or appends_only(p.credit.no_overdraft),
    )


def _check_holds(order_ids: list[str], currency: str) -> None:
    """Each order's money in flight, with what this transaction just took out of it, must not be below zero.

    On PostgreSQL a transaction-scoped advisory lock per order makes the check and the commit of the
    transfers one step for that order (a second taker waits, then its next statement sees the first's
    transfers); the locks are taken in order id order (`order_ids` is sorted, and unnest keeps the
    array's order), so that two batches sharing orders cannot deadlock. SQLite runs one writer at a time."""
    if connection.vendor == "postgresql":
        keys = [f"in_flight:{order_id}" for order_id in order_ids]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS k", [keys]
            )
    short = below_zero(order_ids, currency)
    if short:
        raise LedgerError(f"order {short[0]} has not that much money in flight", code="insufficient_funds")


def _apply_delta(delta: _Delta, *, pending: bool) -> None:
    """One conditional UPDATE per account; zero rows updated means the account would overdraw."""
    debit_field, credit_field = (
        ("debits_pending", "credits_pending") if pending else ("debits_posted", "credits_posted")
    )
    changes = {}
    if delta.debits:
        changes[debit_field] = F(debit_field) + delta.debits
    if delta.credits:
        changes[credit_field] = F(credit_field) + delta.credits
    query = Account.objects.filter(id=delta.spec.id)
    net_out = (
        delta.debits - delta.credits
        if normal_side(delta.spec.type) == "credit"
        else delta.credits - delta.debits
    )
    if delta.spec.no_overdraft and net_out > 0:
        # The balance on the account's normal side, less what is held, must cover what leaves it.
        if normal_side(delta.spec.type) == "credit":
            query = query.filter(
                credits_posted__gte=F("debits_posted") + F("debits_pending") + delta.debits - delta.credits
            )
        else:
            query = query.filter(
                debits_posted__gte=F("credits_posted") + F("credits_pending") + delta.credits - delta.debits
            )
    if query.update(**changes) == 1:
        return
    if not Account.objects.filter(id=delta.spec.id).exists():
        # The per-process cache of known accounts was stale (the table was emptied): create it, try again.
        _known_accounts.discard(delta.spec.id)
        ensure_accounts([delta.spec])
        if query.update(**changes) == 1:
            return
    raise LedgerError(f"account {delta.spec.id} would go below zero", code="insufficient_funds")


def resolve(transfer_id: str, action: str, *, now: datetime) -> None:
    """Post or void a pending transfer, exactly once (a conditional update on its status)."""
    transfer = Transfer.objects.select_related("debit_account", "credit_account").get(id=transfer_id)
    new_status = resolve_pending(TransferStatus(transfer.status), action)
    if (
        Transfer.objects.filter(id=transfer_id, status="pending").update(
            status=new_status.value, resolved_at=now
        )
        != 1
    ):
        raise LedgerError("the pending transfer was resolved already", code="transfer_already_resolved")
    amount = transfer.amount_minor
    release = {"debits_pending": F("debits_pending") - amount}
    take = {"credits_pending": F("credits_pending") - amount}
    if new_status is TransferStatus.POSTED:
        release["debits_posted"] = F("debits_posted") + amount
        take["credits_posted"] = F("credits_posted") + amount
    sides = [(transfer.debit_account, release), (transfer.credit_account, take)]
    for account, changes in sorted(sides, key=lambda side: side[0].id):
        # A side whose account waits for the roll-up never moved its totals (a transfer written before
        # the roll-up existed did, on both sides): the new status alone changes what it counts.
        if transfer.rollup_pending and appends_only(account.no_overdraft):
            continue
        Account.objects.filter(id=account.id).update(**changes)
