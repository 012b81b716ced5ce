"""The carriers' books: lines with balance, validity and bundles; top-ups, product activations and purchases
keyed by (network, reference). Top-ups and activations share one reference space, so that one status or
cancel call answers for either, and a cancelled reference refuses both.

Everything is held in memory (O(1) per request); with a state file, every change is also written through to
SQLite in the same synchronous call, and loaded back at start, so a restart keeps balances. Callers run on one
asyncio thread: `find` then `apply` without an `await` in between is atomic.
"""

from __future__ import annotations

import bisect
import sqlite3
from dataclasses import astuple, dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

from topup.simulators.carriers.numbering import NETWORKS
from topup.simulators.carriers.products import Product
from topup.simulators.private import open_state_file

VALIDITY_DAYS: Final = 180  # Pay&Go rule: a top-up keeps the line valid at least this long

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS lines (
    msisdn TEXT PRIMARY KEY, network TEXT NOT NULL, balance_minor INTEGER NOT NULL, valid_until TEXT);
CREATE TABLE IF NOT EXISTS topups (
    network TEXT NOT NULL, reference TEXT NOT NULL, status TEXT NOT NULL, msisdn TEXT, amount_minor INTEGER,
    currency TEXT, seq INTEGER NOT NULL, balance_minor INTEGER, PRIMARY KEY (network, reference));
CREATE TABLE IF NOT EXISTS purchases (
    network TEXT NOT NULL, reference TEXT NOT NULL, msisdn TEXT NOT NULL, product_ref TEXT NOT NULL,
    price_minor INTEGER NOT NULL, balance_minor INTEGER NOT NULL, PRIMARY KEY (network, reference));
CREATE TABLE IF NOT EXISTS activations (
    network TEXT NOT NULL, reference TEXT NOT NULL, msisdn TEXT NOT NULL, product_ref TEXT NOT NULL,
    price_minor INTEGER NOT NULL, seq INTEGER NOT NULL, balance_minor INTEGER NOT NULL, expires_at TEXT,
    PRIMARY KEY (network, reference));
CREATE TABLE IF NOT EXISTS bundles (
    network TEXT NOT NULL, reference TEXT NOT NULL, msisdn TEXT NOT NULL, product_ref TEXT NOT NULL,
    name TEXT NOT NULL, data_total_mb INTEGER, data_left_mb INTEGER, unlimited INTEGER NOT NULL,
    activated_at TEXT NOT NULL, expires_at TEXT NOT NULL, PRIMARY KEY (network, reference));
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
    """A bundle bought from a line's balance (the carrier's own debit, confirmed; refusals are not kept)."""

    network: str
    reference: str
    msisdn: str
    product_ref: str
    price_minor: int
    balance_minor: int  # the line's balance right after this purchase


@dataclass(frozen=True, slots=True)
class Activation:
    """A product activated on a line for a reseller's reference (confirmed; refusals are not kept)."""

    network: str
    reference: str
    msisdn: str
    product_ref: str
    price_minor: int
    seq: int
    balance_minor: int  # the line's balance right after: unchanged by a bundle
    expires_at: str | None  # the bundle's end (ISO 8601 UTC); None for a credit product

    @property
    def transaction_id(self) -> str:
        return f"tx_{self.seq:012d}"


@dataclass(frozen=True, slots=True)
class LineBundle:
    """A bundle on a line: what is left of it and until when (unlimited: no data figures)."""

    network: str
    reference: str  # the activation's or purchase's reference
    msisdn: str
    product_ref: str
    name: str
    data_total_mb: int | None
    data_left_mb: int | None
    unlimited: bool
    activated_at: str  # ISO 8601 UTC
    expires_at: str


class CarrierState:
    """Lines and top-ups of all simulated networks, in memory, optionally persisted to a SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self._lines: dict[str, Line] = {}
        self._topups: dict[tuple[str, str], Topup] = {}
        self._purchases: dict[tuple[str, str], Purchase] = {}
        self._activations: dict[tuple[str, str], Activation] = {}
        self._bundles: dict[str, list[LineBundle]] = {}  # msisdn -> its bundles, oldest first
        self._confirmed: dict[str, list[Topup]] = {network: [] for network in NETWORKS}
        self._amount_minor = dict.fromkeys(NETWORKS, 0)
        self._line_count = dict.fromkeys(NETWORKS, 0)
        self._seq = 0
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = open_state_file(path)
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
        for row in db.execute("SELECT * FROM activations ORDER BY seq"):
            activation = Activation(*row)
            self._activations[activation.network, activation.reference] = activation
            self._seq = max(self._seq, activation.seq)
        for row in db.execute("SELECT * FROM bundles ORDER BY activated_at"):
            network, reference, msisdn, product_ref, name, total_mb, left_mb, unlimited, start, end = row
            bundle = LineBundle(network, reference, msisdn, product_ref, name, total_mb, left_mb,
                                bool(unlimited), start, end)  # fmt: skip
            self._bundles.setdefault(bundle.msisdn, []).append(bundle)

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

    def cancel(self, network: str, reference: str) -> Topup | Activation:
        """Void a reference never applied, so a late arrival is refused; an applied one stays confirmed."""
        existing = self._topups.get((network, reference)) or self._activations.get((network, reference))
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
        self, network: str, reference: str, *, msisdn: str, product: Product, price_minor: int, at: datetime
    ) -> Purchase | None:
        """Debit the line for a bundle, add the bundle, record the purchase, all or nothing; None if the
        balance is short."""
        current = self._lines.get(msisdn)
        if current is None or current.balance_minor < price_minor:
            return None
        line = Line(msisdn, current.network, current.balance_minor - price_minor, current.valid_until)
        purchase = Purchase(network, reference, msisdn, product.product_ref, price_minor, line.balance_minor)
        bundle = _bundle_of(product, network, reference, msisdn, at)
        if self._db is not None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("INSERT OR REPLACE INTO lines VALUES (?, ?, ?, ?)", astuple(line))
                self._db.execute("INSERT INTO purchases VALUES (?, ?, ?, ?, ?, ?)", astuple(purchase))
                self._db.execute(_INSERT_BUNDLE, astuple(bundle))
        self._lines[msisdn] = line
        self._purchases[network, reference] = purchase
        self._bundles.setdefault(msisdn, []).append(bundle)
        return purchase

    def find_activation(self, network: str, reference: str) -> Activation | None:
        return self._activations.get((network, reference))

    def activate(
        self, network: str, reference: str, *, msisdn: str, product: Product, price_minor: int, at: datetime
    ) -> Activation:
        """Activate a product on the line (created at 0 on first use): a bundle is added and the balance
        stays; a credit product adds its value, as a top-up does. All or nothing."""
        current = self._lines.get(msisdn)
        balance_minor = current.balance_minor if current else 0
        valid_until = current.valid_until if current else None
        bundle = None
        if product.kind == "credit":
            balance_minor += product.price_minor
            renewed = (at.date() + timedelta(days=VALIDITY_DAYS)).isoformat()
            valid_until = max(valid_until or renewed, renewed)
        else:
            bundle = _bundle_of(product, network, reference, msisdn, at)
        line = Line(msisdn, network if current is None else current.network, balance_minor, valid_until)
        seq = self._seq + 1
        activation = Activation(network, reference, msisdn, product.product_ref, price_minor, seq,
                                balance_minor, bundle.expires_at if bundle else None)  # fmt: skip
        if self._db is not None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("INSERT OR REPLACE INTO lines VALUES (?, ?, ?, ?)", astuple(line))
                self._db.execute(_INSERT_ACTIVATION, astuple(activation))
                if bundle is not None:
                    self._db.execute(_INSERT_BUNDLE, astuple(bundle))
        self._lines[msisdn] = line
        self._line_count[line.network] += current is None
        self._seq = seq
        self._activations[network, reference] = activation
        if bundle is not None:
            self._bundles.setdefault(msisdn, []).append(bundle)
        return activation

    def activations(self, network: str, after_seq: int, limit: int) -> list[Activation]:
        """Activations of a network in the order they were applied, after a cursor."""
        later = [a for a in self._activations.values() if a.network == network and a.seq > after_seq]
        return sorted(later, key=lambda activation: activation.seq)[:limit]

    def bundles(self, msisdn: str, at: datetime) -> list[LineBundle]:
        """The line's bundles that have not expired at `at`, the first to end first."""
        alive = [b for b in self._bundles.get(msisdn, []) if datetime.fromisoformat(b.expires_at) > at]
        return sorted(alive, key=lambda bundle: bundle.expires_at)

    def use_data(self, msisdn: str, data_mb: int, at: datetime) -> int:
        """Draw `data_mb` from the line's bundles, the first to end first (an unlimited bundle absorbs the
        rest): the MB that no bundle covered."""
        left_to_draw = data_mb
        for bundle in self.bundles(msisdn, at):
            if left_to_draw == 0:
                break
            if bundle.unlimited:
                left_to_draw = 0
                break
            drawn = min(bundle.data_left_mb or 0, left_to_draw)
            if drawn:
                self._replace_bundle(bundle, (bundle.data_left_mb or 0) - drawn)
                left_to_draw -= drawn
        return left_to_draw

    def _replace_bundle(self, bundle: LineBundle, data_left_mb: int) -> None:
        if self._db is not None:
            self._db.execute(
                "UPDATE bundles SET data_left_mb = ? WHERE network = ? AND reference = ?",
                (data_left_mb, bundle.network, bundle.reference),
            )
        held = self._bundles[bundle.msisdn]
        held[held.index(bundle)] = replace(bundle, data_left_mb=data_left_mb)

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
                "activations": sum(1 for key in self._activations if key[0] == network),
            }
            for network in NETWORKS
        }

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


_INSERT_ACTIVATION: Final = "INSERT INTO activations VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_BUNDLE: Final = "INSERT INTO bundles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _bundle_of(product: Product, network: str, reference: str, msisdn: str, at: datetime) -> LineBundle:
    expires = at + timedelta(days=product.validity_days or 0)
    return LineBundle(network, reference, msisdn, product.product_ref, product.name, product.data_mb,
                      product.data_mb, product.unlimited, at.isoformat(), expires.isoformat())  # fmt: skip
