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

from django.db import InterfaceError, connections

log = logging.getLogger(__name__)

READ_ONLY_SQLSTATE: Final = "25006"  # read_only_sql_transaction: this server is (now) a replica
# connection_exception (08xxx); admin_shutdown, crash_shutdown, cannot_connect_now (57P01-57P03)
_LOST_PREFIX: Final = "08"
_SHUTDOWN_SQLSTATES: Final = frozenset({"57P01", "57P02", "57P03"})


def is_failover_error(exc: BaseException) -> bool:
    """A lost connection or a read-only server: the work did not commit and may be tried again elsewhere.

    That is, in `exc` or its causes: a SQLSTATE of class 08 (connection exception), 57P01-57P03 (the server
    shut down or is not accepting connections yet) or 25006 (read-only transaction); a psycopg
    OperationalError without a SQLSTATE (the client found its connection closed or broken: the server never
    answered); or an InterfaceError (the connection is already closed). Not a failover, though Django calls
    them OperationalError too: SQLite's "database is locked", a deadlock (40P01), a serialization failure
    (40001), a statement or lock timeout (57014, 55P03), a full disk (53100) and the like: the server is
    there and answered; retrying elsewhere would not help and the caller should see the error.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, InterfaceError) or _is_lost(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_lost(exc: BaseException) -> bool:
    sqlstate = str(getattr(exc, "sqlstate", "") or "")
    if sqlstate == READ_ONLY_SQLSTATE or sqlstate in _SHUTDOWN_SQLSTATES or sqlstate.startswith(_LOST_PREFIX):
        return True
    try:
        import psycopg  # noqa: PLC0415 - only where PostgreSQL is used
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    if isinstance(exc, psycopg.InterfaceError):
        return True
    return isinstance(exc, psycopg.OperationalError) and not sqlstate


def forget_connections() -> None:
    """Close this thread's database connections that are outside a transaction, so that the next query
    connects again (through the proxy, to whichever server is the primary now)."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue
        with contextlib.suppress(Exception):
            conn.close()
