"""Which database a query goes to: the primary, except the reads that opted in to the replica.

Every write and, by default, every read goes to the primary (`default`). A block that may show data a little
behind (the catalogue, balance pages, back-office lists and reports) opens `replica_reads()`; its reads go to
the `replica` alias (TOPUP_DATABASE_REPLICA_URL) when there is one and it is usable for this caller:

- read-your-writes: after a request that could write (POST, PUT, PATCH, DELETE), `ReadYourWritesMiddleware`
  keeps the primary's WAL position (`pg_current_wal_lsn()`) in a signed cookie for WRITE_MEMORY_S; while it
  is there, `replica_reads()` asks the replica once whether it has replayed that far
  (`pg_last_wal_replay_lsn()`), and reads from the primary if not. A customer who placed, paid or topped up
  never sees a page older than their own write.
- inside a transaction on the primary (a write under way) the block reads from the primary: the replica
  cannot see what the transaction has not committed;
- sessions, users and content types are always read from the primary;
- a replica that does not answer the check, or a request retried after a database error
  (`primary_only()`), reads from the primary.

An order's own pages and API never open `replica_reads()`: they show a state the customer waits on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Final

from django.db import DatabaseError, connections, transaction

from topup.db.config import REPLICA

log = logging.getLogger(__name__)

WRITE_MEMORY_S: Final = 300  # how long a write's position is kept: longer than any replica lag we accept
SQLITE_POSITION: Final = "0/0"  # SQLite has no replication: one file, always up to date
_ALWAYS_PRIMARY = frozenset({"sessions", "auth", "contenttypes", "admin"})

_use_replica: ContextVar[bool] = ContextVar("topup_use_replica", default=False)
_must_see: ContextVar[str] = ContextVar("topup_must_see", default="")  # a WAL position, or ""
_primary_only: ContextVar[bool] = ContextVar("topup_primary_only", default=False)


def has_replica() -> bool:
    return REPLICA in connections.settings


@contextlib.contextmanager
def replica_reads() -> Iterator[bool]:
    """Reads in this block may come from the replica (yields whether they will)."""
    token = _use_replica.set(_replica_usable())
    try:
        yield _use_replica.get()
    finally:
        _use_replica.reset(token)


@contextlib.contextmanager
def primary_only() -> Iterator[None]:
    """Every read in this block goes to the primary, even inside `replica_reads()`."""
    token = _primary_only.set(True)
    try:
        yield
    finally:
        _primary_only.reset(token)


@contextlib.contextmanager
def must_see(position: str) -> Iterator[None]:
    """Replica reads in this block need the replica to have replayed `position` (a write of this caller)."""
    token = _must_see.set(position)
    try:
        yield
    finally:
        _must_see.reset(token)


def _replica_usable() -> bool:
    if _primary_only.get() or not has_replica():
        return False
    if transaction.get_connection().in_atomic_block:
        return False
    position = _must_see.get()
    if not position:
        return True
    try:
        return replica_replayed(position)
    except DatabaseError as exc:  # the replica is down or failing over: the primary answers
        log.warning("replica not usable, reading from the primary: %s", exc)
        connections[REPLICA].close()
        return False


def primary_position() -> str:
    """Where the primary's WAL is now: at or after every commit this caller made."""
    primary = connections["default"]
    if primary.vendor != "postgresql":
        return SQLITE_POSITION
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        row = cursor.fetchone()
    return str(row[0]) if row else SQLITE_POSITION


def replica_replayed(position: str) -> bool:
    """Whether the replica has replayed the primary's WAL up to `position`. A server that is not in recovery
    is a primary (the same database in tests, or the cluster's only node): it has everything."""
    replica = connections[REPLICA]
    if replica.vendor != "postgresql":
        return True
    with replica.cursor() as cursor:
        cursor.execute(
            "SELECT NOT pg_is_in_recovery() OR COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)",
            [position],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


class ReplicaRouter:
    """Django's database router: writes and most reads to `default`, opted-in reads to `replica`."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not _use_replica.get() or _primary_only.get() or model._meta.app_label in _ALWAYS_PRIMARY:
            return None
        return REPLICA

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two ways to reach it

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA
