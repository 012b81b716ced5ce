"""The simulated Stripe account on disk: with a state file, every PaymentIntent, Checkout Session, refund,
event and webhook endpoint is written through to SQLite in the same synchronous call that changes it, and
loaded back at start, so that a restart keeps the account's records as Stripe keeps them (as the carrier
and SM-DP+ simulators keep theirs). Each object is one JSON row by id; the totals are one row; the answers
stored by idempotency key are kept too (a create resumed after a restart replays its first answer).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from topup.simulators.payments.errors import Json
from topup.simulators.payments.idempotency import StoredAnswer
from topup.simulators.payments.records import Intent, IntentStatus, Refund, Session
from topup.simulators.private import open_state_file

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS intents (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, stored_at REAL NOT NULL, fingerprint BLOB NOT NULL, status INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (stored_at);
"""


@dataclass(frozen=True, slots=True)
class StoredEndpoint:
    """A webhook endpoint as kept: what rebuilds it and its dispatcher (the secret signs its events)."""

    id: str
    url: str
    secret: str
    enabled_events: list[str]
    created: int
    description: str | None
    metadata: dict[str, str]
    disabled: bool


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class BookStore:
    """One SQLite file; every write is its own autocommitted statement (the caller runs on one thread)."""

    def __init__(self, path: Path) -> None:
        self._db = open_state_file(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def save(self, record: Intent | Refund | Session) -> None:
        table = {Intent: "intents", Refund: "refunds", Session: "sessions"}[type(record)]
        self._db.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", (record.id, _dump(asdict(record))))  # noqa: S608 - a fixed table name

    def save_totals(self, seq: int, counts: Counter[str]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO totals VALUES ('book', ?)", (_dump({"seq": seq, "counts": counts}),)
        )

    def add_event(self, event: Json) -> None:
        self._db.execute("INSERT INTO events (id, body) VALUES (?, ?)", (str(event["id"]), _dump(event)))

    def forget_events_before(self, keep: int) -> None:
        """Keep only the newest `keep` events (the bounded window the simulator keeps in memory)."""
        self._db.execute("DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?", (keep,))

    def save_endpoint(self, endpoint: StoredEndpoint) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO endpoints VALUES (?, ?)", (endpoint.id, _dump(asdict(endpoint)))
        )

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._db.execute("DELETE FROM endpoints WHERE id = ?", (endpoint_id,))

    def save_answer(self, key: str, answer: StoredAnswer) -> None:
        """An idempotency key's stored answer (Stripe keeps them 24 hours)."""
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)",
            (key, answer.stored_at, answer.fingerprint, answer.status, answer.body),
        )

    def forget_answers_before(self, cutoff: float) -> None:
        self._db.execute("DELETE FROM idempotency WHERE stored_at < ?", (cutoff,))

    # ------------------------------------------------------------ loading

    def answers(self) -> Iterator[tuple[str, StoredAnswer]]:
        """The stored answers, oldest first."""
        rows = self._db.execute(
            "SELECT key, fingerprint, status, body, stored_at FROM idempotency ORDER BY stored_at, rowid"
        )
        for key, digest, status, body, stored_at in rows:
            yield str(key), StoredAnswer(bytes(digest), int(status), bytes(body), float(stored_at))

    def intents(self) -> Iterator[Intent]:
        for body in self._bodies("intents"):
            yield Intent(**{**body, "status": IntentStatus(body["status"])})

    def refunds(self) -> Iterator[Refund]:
        return (Refund(**body) for body in self._bodies("refunds"))

    def sessions(self) -> Iterator[Session]:
        return (Session(**body) for body in self._bodies("sessions"))

    def events(self) -> list[Json]:
        return [json.loads(body) for (body,) in self._db.execute("SELECT body FROM events ORDER BY seq")]

    def endpoints(self) -> list[StoredEndpoint]:
        return [StoredEndpoint(**body) for body in self._bodies("endpoints")]

    def totals(self) -> tuple[int, Counter[str]]:
        row = self._db.execute("SELECT body FROM totals WHERE name = 'book'").fetchone()
        if row is None:
            return 0, Counter()
        body = json.loads(row[0])
        return int(body["seq"]), Counter({str(k): int(v) for k, v in body["counts"].items()})

    def _bodies(self, table: str) -> Iterator[dict[str, Any]]:  # JSON this store wrote
        for (body,) in self._db.execute(f"SELECT body FROM {table} ORDER BY rowid"):  # noqa: S608 - fixed name
            yield json.loads(body)

    def close(self) -> None:
        self._db.close()
