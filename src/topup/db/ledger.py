"""The persistent ledger: posts domain postings as immutable transfers and keeps account totals.

Each account total is changed by one conditional UPDATE (`... WHERE credits >= debits + amount`),
so a no-overdraft account cannot go below zero even under concurrency; accounts are touched in id
order so that concurrent postings on PostgreSQL cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from topup.db.models import Account, Transfer
from topup.domain.errors import LedgerError
from topup.domain.ledger import AccountSpec, Posting, TransferStatus, normal_side, resolve_pending

_known_accounts: set[str] = set()
_KNOWN_ACCOUNTS_MAX = 50_000  # per-order accounts keep coming: the cache is forgotten now and then


def ensure_accounts(specs: Iterable[AccountSpec]) -> None:
    """Create the accounts that do not exist yet (cached per process: accounts are never deleted)."""
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
    if len(_known_accounts) > _KNOWN_ACCOUNTS_MAX:
        _known_accounts.clear()
    _known_accounts.update(missing)


@dataclass
class _Delta:
    spec: AccountSpec
    debits: int = 0
    credits: int = 0


def post(postings: Sequence[Posting], *, now: datetime, order_id: str | None = None) -> None:
    """Write the postings as posted transfers and move the account totals, all or nothing.

    Must run inside a transaction. A transfer id seen before raises `LedgerError(duplicate_transfer)`;
    a no-overdraft account that would go below zero raises `LedgerError(insufficient_funds)`.
    """
    _write(postings, now=now, order_id=order_id, status=TransferStatus.POSTED)


def reserve(postings: Sequence[Posting], *, now: datetime, order_id: str | None = None) -> None:
    """Write pending transfers: their amounts are held (pending totals) until `resolve` posts or voids it."""
    _write(postings, now=now, order_id=order_id, status=TransferStatus.PENDING)


def _write(
    postings: Sequence[Posting], *, now: datetime, order_id: str | None, status: TransferStatus
) -> None:
    if not postings:
        return
    rows = [
        Transfer(
            id=p.transfer_id,
            debit_account_id=p.debit.id,
            credit_account_id=p.credit.id,
            amount_minor=p.amount.amount_minor,
            currency=p.amount.currency,
            status=status.value,
            code=p.code,
            order_id=order_id,
            metadata=dict(p.metadata),
            created_at=now,
            resolved_at=now if status is TransferStatus.POSTED else None,
        )
        for p in postings
    ]
    try:
        with transaction.atomic():
            Transfer.objects.bulk_create(rows)
    except IntegrityError as exc:
        raise LedgerError("a transfer with this id exists already", code="duplicate_transfer") from exc
    deltas: dict[str, _Delta] = {}
    for p in postings:
        deltas.setdefault(p.debit.id, _Delta(p.debit)).debits += p.amount.amount_minor
        deltas.setdefault(p.credit.id, _Delta(p.credit)).credits += p.amount.amount_minor
    pending = status is TransferStatus.PENDING
    # Every lock on an account row (creating it or moving its totals) is taken in account id order,
    # so that concurrent transfers on PostgreSQL cannot deadlock. (Transfers' foreign keys are
    # checked at commit, with key-share locks that do not conflict with these updates.)
    for account_id in sorted(deltas):
        ensure_accounts([deltas[account_id].spec])
        _apply_delta(deltas[account_id], pending=pending)


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
    for account_id, changes in sorted(
        [(transfer.debit_account_id, release), (transfer.credit_account_id, take)]
    ):
        Account.objects.filter(id=account_id).update(**changes)


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    debits_minor: int
    credits_minor: int
    transfers_minor: int

    @property
    def balanced(self) -> bool:
        return self.debits_minor == self.credits_minor == self.transfers_minor


def trial_balance() -> list[CurrencyTotals]:
    """Per currency: Σ debits and Σ credits over accounts, and Σ posted transfers; all three must agree."""
    accounts = Account.objects.values("currency").annotate(d=Sum("debits_posted"), c=Sum("credits_posted"))
    transfers: dict[str, int] = defaultdict(int)
    for row in Transfer.objects.filter(status="posted").values("currency").annotate(t=Sum("amount_minor")):
        transfers[row["currency"]] = int(row["t"] or 0)
    return [
        CurrencyTotals(row["currency"], int(row["d"] or 0), int(row["c"] or 0), transfers[row["currency"]])
        for row in accounts.order_by("currency")
    ]


def balance_of(account_id: str) -> int:
    """The posted balance on the account's normal side (positive = what the account holds)."""
    account = Account.objects.get(id=account_id)
    if account.type in {"asset", "expense"}:
        return account.debits_posted - account.credits_posted
    return account.credits_posted - account.debits_posted
