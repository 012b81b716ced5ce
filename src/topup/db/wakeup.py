"""Waking a waiting process when something it waits for was committed: PostgreSQL's LISTEN/NOTIFY, a short
sleep on SQLite.

`notify` queues a notification in the caller's transaction: PostgreSQL sends it at commit, and never for a
rolled-back one, so a woken process always finds the rows that woke it. A `Listener` holds a connection of its
own and returns as soon as a notification arrives on one of its channels, or after the timeout. On SQLite
(one machine, no server to tell) `Listener.wait` sleeps `poll_s` and reports nothing: the waiter looks at the
database itself, as it does after any wake-up. A notification is a hint, never the record: whoever is woken
reads the database, and whoever missed one (a listener reconnecting) finds the rows at its next look.

Through a transaction-mode pooler (TOPUP_DATABASE_POOLER=transaction) a LISTEN would be made on whichever
server session the pooler lends, and lost with it: the listener then connects to TOPUP_DATABASE_LISTEN_URL
(a session connection to the primary, e.g. HAProxy's write port) or, without one, polls like on SQLite.
NOTIFY itself is safe there: `pg_notify` is sent at the commit of the transaction that called it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, Final

from django.db import connection

from topup.settings import CONFIG

log = logging.getLogger(__name__)

JOBS: Final = "topup_jobs"  # a job was queued (payload: its kind)
ORDERS: Final = "topup_orders"  # an order changed (payload: its id)
_MAX_PAYLOAD = 7_900  # PostgreSQL's limit is 8,000 bytes
_gathering = threading.local()  # `together`'s notifications, per thread (a thread has its own connection)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def notify(channel: str, payload: str = "") -> None:
    """Tell listeners of `channel`, at the commit of the current transaction (nothing on SQLite); inside
    `together`, at the end of its block."""
    if not is_postgres():
        return
    gathered: list[tuple[str, str]] | None = getattr(_gathering, "notes", None)
    if gathered is not None:
        if (channel, payload) not in gathered:
            gathered.append((channel, payload))
        return
    _send([(channel, payload)])


@contextlib.contextmanager
def together() -> Iterator[None]:
    """The notifications made in this block, sent in one statement at its end (inside the caller's
    transaction, which must still be open): a webhook that moves an order and queues its job sends both
    wake-ups at once. A block left by an exception sends nothing: its transaction is rolled back. (One made
    under a savepoint rolled back inside the block is still sent: a wake-up is only a hint.)"""
    if getattr(_gathering, "notes", None) is not None:  # an outer block sends them
        yield
        return
    _gathering.notes = []
    try:
        yield
        notes = _gathering.notes
    finally:
        _gathering.notes = None
    _send(notes)


def _send(notes: list[tuple[str, str]]) -> None:
    if not notes:
        return
    calls = ", ".join(["pg_notify(%s, %s)"] * len(notes))
    params = [value for channel, payload in notes for value in (channel, payload[:_MAX_PAYLOAD])]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", params)  # placeholders only: the values are parameters


def listens() -> bool:
    """Whether waiters are woken by LISTEN (else they poll): PostgreSQL on a session connection."""
    if not is_postgres():
        return False
    return bool(CONFIG.database_listen_url) or CONFIG.database_pooler != "transaction"


def _libpq_url(url: str) -> str:
    """libpq takes `postgresql://`; our settings also accept `postgres://`."""
    return "postgresql://" + url.split("://", 1)[1] if "://" in url else url


class Listener:
    """A connection that listens on `channels` (PostgreSQL); on SQLite, a clock that ticks every `poll_s`."""

    def __init__(self, *channels: str, poll_s: float = 0.05) -> None:
        self.channels = channels
        self.poll_s = poll_s
        self._conn: Any = None

    def wait(self, timeout_s: float) -> list[tuple[str, str]]:
        """(channel, payload) of what arrived within `timeout_s` (at most `poll_s` when polling), or []."""
        if not listens():
            time.sleep(min(timeout_s, self.poll_s))
            return []
        try:
            conn = self._connect()
            arrived = [(n.channel, n.payload) for n in conn.notifies(timeout=timeout_s, stop_after=1)]
            # More may have come with the first: take them without waiting.
            arrived += [(n.channel, n.payload) for n in conn.notifies(timeout=0)]
            return arrived
        except Exception as exc:  # the server went away: look at the database, connect again next time
            log.warning("listener lost its connection: %s", exc)
            self.close()
            time.sleep(min(timeout_s, self.poll_s))
            return []

    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            import psycopg  # noqa: PLC0415 - PostgreSQL only

            if CONFIG.database_listen_url:
                self._conn = psycopg.connect(_libpq_url(CONFIG.database_listen_url), autocommit=True)
            else:
                own = {"cursor_factory", "context"}  # Django's, not psycopg.connect's
                params = {k: v for k, v in connection.get_connection_params().items() if k not in own}
                self._conn = psycopg.connect(**params, autocommit=True)
            for channel in self.channels:
                self._conn.execute(f'LISTEN "{channel}"')
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
