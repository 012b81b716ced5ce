"""What a database failover looks like to a client, and how to start again after one.

During a Patroni failover (or a restart, or a PgBouncer reconnect) a client sees its connection fail
(psycopg's OperationalError or InterfaceError, which Django re-raises as its own) or, on a connection still
reaching the demoted primary, `cannot execute ... in a read-only transaction` (SQLSTATE 25006). Neither
committed anything: the statement or the connection failed before a commit was acknowledged. (A commit whose
acknowledgement was lost may or may not have happened: every write path of Topup is idempotent by its ids,
inbox keys and lease tokens, so running it again finds the first attempt.)
"""

from __future__ import annotations

import contextlib
import logging
from typing import Final

from django.db import InterfaceError, OperationalError, connections

log = logging.getLogger(__name__)

READ_ONLY_SQLSTATE: Final = "25006"  # read_only_sql_transaction: this server is (now) a replica
_LOST_CLASSES: Final = (
    "08",
    "57P",
)  # connection exceptions; admin shutdown, crash shutdown, cannot connect now


def is_failover_error(exc: BaseException) -> bool:
    """A lost connection or a read-only server: the work did not commit and may be tried again elsewhere."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OperationalError | InterfaceError):
            return True
        sqlstate = str(getattr(current, "sqlstate", "") or "")
        if sqlstate == READ_ONLY_SQLSTATE or sqlstate.startswith(_LOST_CLASSES):
            return True
        if _is_psycopg_connection_error(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_psycopg_connection_error(exc: BaseException) -> bool:
    try:
        import psycopg  # noqa: PLC0415 - only where PostgreSQL is used
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def forget_connections() -> None:
    """Close this thread's database connections that are outside a transaction, so that the next query
    connects again (through the proxy, to whichever server is the primary now)."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue
        with contextlib.suppress(Exception):
            conn.close()
