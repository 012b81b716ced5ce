"""The simulated DT One account: transactions, the account's float, and the lines they reached.

Everything lives in memory (a restart is a new sandbox account). Every method runs to completion on the
event loop without awaiting, so no two requests interleave inside one; balance movements follow DVS:

    CREATED   authorize  available -> holding        CANCELLED, REJECTED, DECLINED  void  holding -> available
    COMPLETED capture    holding -> spent            REVERSED  reverse  spent -> available
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from topup.simulators.dtone.catalogue import Product, wholesale_cents

# status name -> (status id, class id, class name). Where the facts come from: DT One's DVS API reference
# (https://dvs-api-doc.dtone.com, "Status and Errors" > "Transaction Status": each status name and its
# class; "Sandbox": the DECLINED-* names of the sandbox's outcomes) and its transactions guide
# (https://developers.dtone.com/docs/handling-transactions: the class ids CREATED 1, CONFIRMED 2,
# REJECTED 3, CANCELLED 4, SUBMITTED 5, COMPLETED 7, REVERSED 8, DECLINED 9; no class 6). DT One advises
# clients to decide on the class, as our adapter does. The numeric ids of the statuses themselves are not
# in those pages: the ones here (class * 10000, and a suffix for a sub-status) are this simulator's own,
# and no client should read them.
STATUSES: Final = {
    "CREATED": (10000, 1, "CREATED"),
    "CONFIRMED": (20000, 2, "CONFIRMED"),
    "REJECTED": (30000, 3, "REJECTED"),
    "CANCELLED": (40000, 4, "CANCELLED"),
    "SUBMITTED": (50000, 5, "SUBMITTED"),
    "COMPLETED": (70000, 7, "COMPLETED"),
    "REVERSED": (80000, 8, "REVERSED"),
    "DECLINED": (90000, 9, "DECLINED"),
    "DECLINED-INVALID-CREDIT-PARTY": (90201, 9, "DECLINED"),
    "DECLINED-BARRED-CREDIT-PARTY": (90202, 9, "DECLINED"),
    "DECLINED-OPERATOR-CURRENTLY-UNAVAILABLE": (90400, 9, "DECLINED"),
    "DECLINED-DUPLICATED-TRANSACTION": (90500, 9, "DECLINED"),
    "DECLINED-EXCEPTION": (90700, 9, "DECLINED"),
}
FINAL_CLASSES: Final = frozenset({"REJECTED", "CANCELLED", "COMPLETED", "REVERSED", "DECLINED"})


@dataclass
class Transaction:
    id: int
    external_id: str
    product: Product
    msisdn: str
    value_cents: int  # the destination amount (face value)
    wholesale_cents: int  # what the float pays
    callback_url: str | None
    created_at: datetime
    confirm_by: datetime
    status: str = "CREATED"
    confirmed_at: datetime | None = None
    operator_reference: str | None = None
    updated_seq: int = 0

    @property
    def status_class(self) -> str:
        return STATUSES[self.status][2]


@dataclass
class Bundle:
    product_id: int
    name: str
    data_total_mb: int | None
    data_left_mb: int | None
    unlimited: bool
    expires_at: datetime


@dataclass
class Line:
    credit_cents: int = 0
    bundles: list[Bundle] = field(default_factory=list)


class ExternalIdUsed(Exception):
    """DVS error 1007001: the account already has a transaction with this external_id."""


class InsufficientBalance(Exception):
    """DVS error 1006001: the float cannot hold the wholesale price."""


class AccountState:
    def __init__(self, float_cents: int, confirm_ttl_s: float) -> None:
        self.available_cents = float_cents
        self.holding_cents = 0
        self.confirm_ttl_s = confirm_ttl_s
        self.transactions: dict[int, Transaction] = {}
        self.by_external: dict[str, Transaction] = {}
        self.lines: dict[str, Line] = {}
        self._ids = itertools.count(4_200_000_001)
        self._seq = itertools.count(1)

    def create(
        self, external_id: str, product: Product, msisdn: str, value_cents: int, callback_url: str | None
    ) -> Transaction:
        if external_id in self.by_external:
            raise ExternalIdUsed(external_id)
        cost = wholesale_cents(value_cents)
        if cost > self.available_cents:
            raise InsufficientBalance(external_id)
        at = datetime.now(UTC)
        tx = Transaction(
            id=next(self._ids), external_id=external_id, product=product, msisdn=msisdn,
            value_cents=value_cents, wholesale_cents=cost, callback_url=callback_url, created_at=at,
            confirm_by=at + timedelta(seconds=self.confirm_ttl_s), updated_seq=next(self._seq),
        )  # fmt: skip
        self.available_cents -= cost
        self.holding_cents += cost
        self.transactions[tx.id] = tx
        self.by_external[external_id] = tx
        return tx

    def move(self, tx: Transaction, status: str) -> None:
        """Change a transaction's status, with the balance movement and the line's benefit it implies."""
        before, after = tx.status_class, STATUSES[status][2]
        tx.status, tx.updated_seq = status, next(self._seq)
        if after == "CONFIRMED":
            tx.confirmed_at = datetime.now(UTC)
        elif after in {"CANCELLED", "REJECTED", "DECLINED"} and before in {
            "CREATED",
            "CONFIRMED",
            "SUBMITTED",
        }:
            self.holding_cents -= tx.wholesale_cents
            self.available_cents += tx.wholesale_cents
        elif after == "COMPLETED":
            self.holding_cents -= tx.wholesale_cents
            tx.operator_reference = f"OP{tx.id}"
            self._credit_line(tx)
        elif after == "REVERSED" and before == "COMPLETED":
            self.available_cents += tx.wholesale_cents
            self._reverse_line(tx)

    def _credit_line(self, tx: Transaction) -> None:
        line = self.lines.setdefault(tx.msisdn, Line())
        product = tx.product
        if not product.is_bundle:
            line.credit_cents += tx.value_cents
            return
        expires = datetime.now(UTC) + timedelta(days=product.validity_days or 30)
        line.bundles.append(
            Bundle(product.id, product.name, product.data_mb, product.data_mb, product.unlimited, expires)
        )

    def _reverse_line(self, tx: Transaction) -> None:
        line = self.lines.setdefault(tx.msisdn, Line())
        if not tx.product.is_bundle:
            line.credit_cents -= tx.value_cents
            return
        for index, bundle in enumerate(line.bundles):
            if bundle.product_id == tx.product.id:
                del line.bundles[index]
                return

    def created_between(self, since: datetime, until: datetime) -> list[Transaction]:
        return [tx for tx in self.transactions.values() if since <= tx.created_at <= until]
