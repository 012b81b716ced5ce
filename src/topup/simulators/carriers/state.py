"""The carriers' books: lines with balance and validity, top-ups and purchases keyed by (network, reference).

Everything is held in memory (O(1) per request); with a state file, every change is also written through to
SQLite in the same synchronous call, and loaded back at start, so a restart keeps balances. Callers run on one
asyncio thread: `find` then `apply` without an `await` in between is atomic.
"""

from __future__ import annotations

import bisect
import sqlite3
from dataclasses import astuple, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from topup.simulators.carriers.numbering import NETWORKS

VALIDITY_DAYS: Final = 180  # Pay&Go rule: a top-up keeps the line valid at least this long

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS lines (
    msisdn TEXT PRIMARY KEY, network TEXT NOT NULL, balance_minor INTEGER NOT NULL, valid_until TEXT);
CREATE TABLE IF NOT EXISTS topups (
    network TEXT NOT NULL, reference TEXT NOT NULL, status TEXT NOT NULL, msisdn TEXT, amount_minor INTEGER,
    currency TEXT, seq INTEGER NOT NULL, balance_minor INTEGER, PRIMARY KEY (network, reference));
CREATE TABLE IF NOT EXISTS purchases (
    network TEXT NOT NULL, reference TEXT NOT NULL, msisdn TEXT NOT NULL, plan_code TEXT NOT NULL,
    price_minor INTEGER NOT NULL, balance_minor INTEGER NOT NULL, PRIMARY KEY (network, reference));
"""


@dataclass(frozen=True, slots=True)
class Line:
    msisdn: str
    network: str
    balance_minor: int
    valid_until: str | None  # ISO date


@dataclass(frozen=True, slots=True)
class Topup:
    network: str
    reference: str
    status: str  # confirmed | cancelled
    msisdn: str | None
    amount_minor: int | None
    currency: str | None
    seq: int
    balance_minor: int | None  # the line's balance right after this top-up

    @property
    def transaction_id(self) -> str:
        return f"tx_{self.seq:012d}"


@dataclass(frozen=True, slots=True)
class Purchase:
    """A plan bought from a line's balance (the carrier's own debit, confirmed; refusals are not kept)."""

    network: str
    reference: str
    msisdn: str
    plan_code: str
    price_minor: int
    balance_minor: int  # the line's balance right after this purchase


class CarrierState:
    """Lines and top-ups of all simulated networks, in memory, optionally persisted to a SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self._lines: dict[str, Line] = {}
        self._topups: dict[tuple[str, str], Topup] = {}
        self._purchases: dict[tuple[str, str], Purchase] = {}
        self._confirmed: dict[str, list[Topup]] = {network: [] for network in NETWORKS}
        self._amount_minor = dict.fromkeys(NETWORKS, 0)
        self._line_count = dict.fromkeys(NETWORKS, 0)
        self._seq = 0
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._load(self._db)

    def _load(self, db: sqlite3.Connection) -> None:
        for row in db.execute("SELECT msisdn, network, balance_minor, valid_until FROM lines"):
            line = Line(*row)
            self._lines[line.msisdn] = line
            self._line_count[line.network] += 1
        for row in db.execute("SELECT * FROM topups ORDER BY seq"):
            self._remember(Topup(*row))
        for row in db.execute("SELECT * FROM purchases"):
            purchase = Purchase(*row)
            self._purchases[purchase.network, purchase.reference] = purchase

    def _remember(self, topup: Topup) -> None:
        self._topups[topup.network, topup.reference] = topup
        self._seq = max(self._seq, topup.seq)
        if topup.status == "confirmed":
            self._confirmed[topup.network].append(topup)
            self._amount_minor[topup.network] += topup.amount_minor or 0

    def find(self, network: str, reference: str) -> Topup | None:
        return self._topups.get((network, reference))

    def line(self, msisdn: str) -> Line | None:
        return self._lines.get(msisdn)

    def apply(
        self, network: str, reference: str, *, msisdn: str, amount_minor: int, currency: str, today: date
    ) -> Topup:
        """Credit the line (created at 0 on first use) and record the confirmed top-up, all or nothing."""
        current = self._lines.get(msisdn)
        renewed = (today + timedelta(days=VALIDITY_DAYS)).isoformat()
        if current is None:
            line = Line(msisdn, network, amount_minor, renewed)
        else:
            valid_until = max(current.valid_until or renewed, renewed)
            line = Line(msisdn, network, current.balance_minor + amount_minor, valid_until)
        seq = self._seq + 1
        topup = Topup(
            network, reference, "confirmed", msisdn, amount_minor, currency, seq, line.balance_minor
        )
        if self._db is not None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("INSERT OR REPLACE INTO lines VALUES (?, ?, ?, ?)", astuple(line))
                self._db.execute("INSERT INTO topups VALUES (?, ?, ?, ?, ?, ?, ?, ?)", astuple(topup))
        self._lines[msisdn] = line
        self._line_count[network] += current is None
        self._remember(topup)
        return topup

    def cancel(self, network: str, reference: str) -> Topup:
        """Void a reference never applied, so a late arrival is refused; an applied one stays confirmed."""
        existing = self._topups.get((network, reference))
        if existing is not None:
            return existing
        topup = Topup(network, reference, "cancelled", None, None, None, self._seq + 1, None)
        if self._db is not None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("INSERT INTO topups VALUES (?, ?, ?, ?, ?, ?, ?, ?)", astuple(topup))
        self._remember(topup)
        return topup

    def find_purchase(self, network: str, reference: str) -> Purchase | None:
        return self._purchases.get((network, reference))

    def debit(
        self, network: str, reference: str, *, msisdn: str, plan_code: str, price_minor: int
    ) -> Purchase | None:
        """Debit the line for a plan and record the purchase, all or nothing; None if the balance is short."""
        current = self._lines.get(msisdn)
        if current is None or current.balance_minor < price_minor:
            return None
        line = Line(msisdn, current.network, current.balance_minor - price_minor, current.valid_until)
        purchase = Purchase(network, reference, msisdn, plan_code, price_minor, line.balance_minor)
        if self._db is not None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("INSERT OR REPLACE INTO lines VALUES (?, ?, ?, ?)", astuple(line))
                self._db.execute("INSERT INTO purchases VALUES (?, ?, ?, ?, ?, ?)", astuple(purchase))
        self._lines[msisdn] = line
        self._purchases[network, reference] = purchase
        return purchase

    def confirmed(self, network: str, after_seq: int, limit: int) -> list[Topup]:
        """Confirmed top-ups of a network in the order they were applied, after a cursor."""
        topups = self._confirmed[network]
        start = bisect.bisect_right(topups, after_seq, key=lambda topup: topup.seq)
        return topups[start : start + limit]

    def summary(self) -> dict[str, dict[str, int]]:
        return {
            network: {
                "topups": len(self._confirmed[network]),
                "amount_minor": self._amount_minor[network],
                "lines": self._line_count[network],
            }
            for network in NETWORKS
        }

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
