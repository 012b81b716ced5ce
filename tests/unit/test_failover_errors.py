"""Which database errors are a failover (a lost connection, a read-only server) and which are not."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from django.db import InterfaceError, InternalError, OperationalError

from topup.db.failover import is_failover_error


def django_error(cause: BaseException, wrapper: type[Exception] = OperationalError) -> Exception:
    """As Django raises it: its own class, the driver's error as the cause."""
    try:
        raise wrapper(str(cause)) from cause
    except wrapper as exc:
        return exc


FAILOVERS = {
    "closed by the server": django_error(
        psycopg.OperationalError("server closed the connection unexpectedly")
    ),
    "connection failure 08006": django_error(psycopg.errors.ConnectionFailure("connection failure")),
    "cannot connect 08001": django_error(psycopg.errors.SqlclientUnableToEstablishSqlconnection("refused")),
    "admin shutdown 57P01": django_error(psycopg.errors.AdminShutdown("terminating connection")),
    "crash shutdown 57P02": django_error(psycopg.errors.CrashShutdown("crash")),
    "cannot connect now 57P03": django_error(psycopg.errors.CannotConnectNow("starting up")),
    "read only 25006": django_error(psycopg.errors.ReadOnlySqlTransaction("read-only"), InternalError),
    "interface error": django_error(psycopg.InterfaceError("the connection is closed"), InterfaceError),
    "django interface error": InterfaceError("connection already closed"),
}

NOT_FAILOVERS = {
    "sqlite locked": django_error(sqlite3.OperationalError("database is locked")),
    "sqlite disk full": django_error(sqlite3.OperationalError("database or disk is full")),
    "deadlock 40P01": django_error(psycopg.errors.DeadlockDetected("deadlock detected")),
    "serialization 40001": django_error(psycopg.errors.SerializationFailure("could not serialize")),
    "statement timeout 57014": django_error(psycopg.errors.QueryCanceled("canceling statement")),
    "lock timeout 55P03": django_error(psycopg.errors.LockNotAvailable("lock timeout")),
    "disk full 53100": django_error(psycopg.errors.DiskFull("could not extend file")),
    "bare OperationalError": OperationalError("no driver error behind it"),
    "not a database error": ValueError("nothing to do with it"),
}


@pytest.mark.parametrize("error", FAILOVERS.values(), ids=FAILOVERS.keys())
def test_a_lost_connection_or_a_read_only_server_is_a_failover(error: Exception) -> None:
    assert is_failover_error(error)


@pytest.mark.parametrize("error", NOT_FAILOVERS.values(), ids=NOT_FAILOVERS.keys())
def test_an_error_the_server_answered_is_not_a_failover(error: Exception) -> None:
    assert not is_failover_error(error)
