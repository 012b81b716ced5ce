"""A persistent PostgreSQL connection the server ended is replaced before a request uses it (db/postgresql),
and a connection the server did not end is used without a `SELECT 1` first."""

from __future__ import annotations

import select
from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import connection, connections

from topup.db.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def own() -> Iterator[DatabaseWrapper]:
    """A second connection to the test database, outside the test's transaction, as a request thread has."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's backend only")
    wrapper = connections.create_connection("default")
    assert isinstance(wrapper, DatabaseWrapper)  # settings.database_settings: our backend
    yield wrapper
    wrapper.close()


def _wait_readable(wrapper: DatabaseWrapper) -> None:
    poller = select.poll()
    poller.register(wrapper.connection.fileno(), select.POLLIN | select.POLLHUP)
    assert poller.poll(5_000), "nothing arrived from the server"


def _backend_pid(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _new_request(wrapper: DatabaseWrapper) -> None:
    wrapper.close_if_unusable_or_obsolete()  # what Django runs when a request starts and ends


def test_a_connection_the_server_ended_is_replaced_not_failed(own: DatabaseWrapper) -> None:
    first = _backend_pid(own)
    assert own.health_check_enabled  # CONN_HEALTH_CHECKS
    _new_request(own)
    with connection.cursor() as cursor:  # as a restart or an administrator would
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    _wait_readable(own)

    assert _backend_pid(own) != first  # no OperationalError: a new connection


def test_a_quiet_connection_is_used_without_a_round_trip(own: DatabaseWrapper) -> None:
    first = _backend_pid(own)
    _new_request(own)
    with mock.patch.object(type(own), "is_usable", side_effect=AssertionError("SELECT 1 sent")):
        assert _backend_pid(own) == first
    assert own.health_check_done


def test_a_connection_with_something_to_read_is_checked(own: DatabaseWrapper) -> None:
    first = _backend_pid(own)
    with own.cursor() as cursor:
        cursor.execute("LISTEN topup_health_check_test")
    sender = connections.create_connection("default")
    try:
        with sender.cursor() as cursor:
            cursor.execute("NOTIFY topup_health_check_test")
    finally:
        sender.close()
    _wait_readable(own)  # the notification, unread
    _new_request(own)
    checked = mock.Mock(return_value=True)
    with mock.patch.object(type(own), "is_usable", checked):
        assert _backend_pid(own) == first
    checked.assert_called_once()
