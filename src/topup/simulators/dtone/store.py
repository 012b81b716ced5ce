"""The simulated DT One account on disk: with a state file, every transaction, every line's credit and
bundles and the float are written through to SQLite in the same synchronous call that changes them, and
loaded back at start, so that a restart keeps the account as DT One keeps it (as the carrier and SM-DP+
simulators keep theirs). `StoredAccount` is `state.AccountState` with that write-through; the rules stay
there.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from topup.simulators.dtone.catalogue import PRODUCTS, Product
from topup.simulators.dtone.state import AccountState, Bundle, Line, Transaction
from topup.simulators.private import open_state_file

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS transactions (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lines (msisdn TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS account (name TEXT PRIMARY KEY, available_cents INTEGER NOT NULL,
                                    holding_cents INTEGER NOT NULL);
"""
_WHEN: Final = ("created_at", "confirm_by", "confirmed_at")


def _transaction_row(tx: Transaction) -> str:
    body: dict[str, Any] = {f.name: getattr(tx, f.name) for f in fields(tx)}
    body["product"] = tx.product.id
    for name in _WHEN:
        body[name] = body[name].isoformat() if body[name] else None
    return json.dumps(body, separators=(",", ":"))


def _transaction(text: str) -> Transaction:
    body = json.loads(text)
    product: Product = PRODUCTS[body.pop("product")]
    for name in _WHEN:
        body[name] = datetime.fromisoformat(body[name]) if body[name] else None
    return Transaction(product=product, **body)


def _line_row(line: Line) -> str:
    bundles = [{**asdict(b), "expires_at": b.expires_at.isoformat()} for b in line.bundles]
    return json.dumps({"credit_cents": line.credit_cents, "bundles": bundles}, separators=(",", ":"))


def _line(text: str) -> Line:
    body = json.loads(text)
    bundles = [
        Bundle(**{**b, "expires_at": datetime.fromisoformat(b["expires_at"])}) for b in body["bundles"]
    ]
    return Line(int(body["credit_cents"]), bundles)


class StoredAccount(AccountState):
    """The account, loaded from `path` when it was kept there (the flags' float applies to a new file)."""

    _available: int

    def __init__(self, float_cents: int, confirm_ttl_s: float, path: Path) -> None:
        self._db: sqlite3.Connection | None = None
        super().__init__(float_cents, confirm_ttl_s)
        db = open_state_file(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        kept = db.execute("SELECT available_cents, holding_cents FROM account").fetchone()
        if kept is not None:
            self._available, self.holding_cents = int(kept[0]), int(kept[1])
        for (body,) in db.execute("SELECT body FROM transactions ORDER BY id"):
            tx = _transaction(body)
            self.transactions[tx.id] = tx
            self.by_external[tx.external_id] = tx
        for msisdn, body in db.execute("SELECT msisdn, body FROM lines"):
            self.lines[msisdn] = _line(body)
        if self.transactions:
            self._ids = itertools.count(max(self.transactions) + 1)
            self._seq = itertools.count(max(tx.updated_seq for tx in self.transactions.values()) + 1)
        self._db = db
        self._save_account()

    @property  # the float is kept on every change, also POST /sim/balance's
    def available_cents(self) -> int:
        return self._available

    @available_cents.setter
    def available_cents(self, cents: int) -> None:
        self._available = cents
        self._save_account()

    def create(
        self, external_id: str, product: Product, msisdn: str, value_cents: int, callback_url: str | None
    ) -> Transaction:
        tx = super().create(external_id, product, msisdn, value_cents, callback_url)
        self._save(tx)
        return tx

    def move(self, tx: Transaction, status: str) -> None:
        super().move(tx, status)
        self._save(tx)

    def _save(self, tx: Transaction) -> None:
        if self._db is None:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO transactions VALUES (?, ?)", (tx.id, _transaction_row(tx))
            )
            line = self.lines.get(tx.msisdn)
            if line is not None:
                self._db.execute("INSERT OR REPLACE INTO lines VALUES (?, ?)", (tx.msisdn, _line_row(line)))
            self._db.execute(
                "INSERT OR REPLACE INTO account VALUES ('float', ?, ?)", (self._available, self.holding_cents)
            )

    def _save_account(self) -> None:
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO account VALUES ('float', ?, ?)", (self._available, self.holding_cents)
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
