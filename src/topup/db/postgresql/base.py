"""Django's PostgreSQL backend, with a cheaper health check for persistent connections.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request, so that a
connection the server ended (a restart, a failover, an idle timeout) is replaced instead of failing that
request. A server that ends a connection sends an error (FATAL 57P01 and the like) and closes the socket,
so an idle connection that has nothing waiting to be read and that libpq still holds as open has not been
ended: it is used without the round trip. Anything waiting on the socket, or a connection libpq marked
broken, gets Django's own `SELECT 1` check as before.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base


def _idle_and_quiet(conn: psycopg.Connection[object]) -> bool:
    """True when `conn` is open, idle outside a transaction, and the server sent nothing since its last
    answer (a poll of the socket that does not wait)."""
    if conn.closed or conn.broken:
        return False
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_enabled: bool  # set by Django's BaseDatabaseWrapper (django-stubs leaves them out)
    health_check_done: bool

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and _idle_and_quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
