"""Test set-up shared by every layer."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tests.support.processes import free_port

# Django's live server takes a free loopback port; the simulators are started on free ports by fixtures.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", f"127.0.0.1:{free_port()}")

logging.getLogger("httpx").setLevel(logging.WARNING)


def pytest_configure() -> None:
    """The SQLite test database lives in the data folder: make sure it exists on a fresh clone."""
    from topup.settings import CONFIG  # noqa: PLC0415

    CONFIG.data_dir.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _ledger_accounts_forgotten() -> None:
    """Each test starts with empty tables, so the ledger's per-process cache of existing accounts is
    forgotten: the postings of append-only accounts never touch the account row, so nothing else would
    notice that a remembered account is gone."""
    from topup.db import ledger  # noqa: PLC0415 - needs Django's apps loaded

    ledger._known_accounts.clear()


@pytest.fixture(autouse=True)
def _campaigns_forgotten() -> None:
    """The same for the per-process cache of running campaigns: a test's tables are emptied without
    `post_delete`, so a campaign of the test before would otherwise be seen for up to 5 s."""
    from topup.services import promotions  # noqa: PLC0415 - needs Django's apps loaded

    promotions.forget_campaigns()


@pytest.fixture(autouse=True)
def _metrics_folder_kept() -> Iterator[None]:
    """A test that makes some folder this process's metrics folder (`metrics.processes.prepare` sets the
    variable) does not hand it to the subprocesses of the tests after it."""
    before = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    yield
    if before is None:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = before


_CATALOG_VACUUM_EVERY = 100  # tests
_tests_since_vacuum = 0


@pytest.fixture(autouse=True)
def _catalogs_vacuumed() -> Iterator[None]:
    """On PostgreSQL, every 100 tests, VACUUM the system catalogs of the test database. Each test that empties
    the tables (TRUNCATE) gives every table and index a new file, and so a new pg_class row: hundreds of dead
    catalog rows a test. Where the server runs without autovacuum (seen on CI machines) they pile up by the
    hundred thousand and every later catalog lookup wades through them: the PostgreSQL half ran 2-3 times
    slower than the SQLite half. A separate connection, since VACUUM cannot run inside a transaction."""
    global _tests_since_vacuum  # noqa: PLW0603 - one count for the whole run
    yield
    _tests_since_vacuum += 1
    if _tests_since_vacuum < _CATALOG_VACUUM_EVERY:
        return
    _tests_since_vacuum = 0
    from django.db import connection  # noqa: PLC0415 - needs Django's apps loaded

    if connection.vendor != "postgresql":
        return
    import psycopg  # noqa: PLC0415

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    try:
        with psycopg.connect(**params, autocommit=True) as vacuum:
            vacuum.execute(
                "VACUUM pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_type, "
                "pg_catalog.pg_depend, pg_catalog.pg_index, pg_catalog.pg_constraint"
            )
    except psycopg.Error as exc:  # not allowed (not the owner) or the server away: the run goes on, slower
        logging.getLogger(__name__).warning("catalog vacuum skipped: %s", exc)


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """Every test runs with the configuration's peers installed, as a started process has them."""
    from tests.support.wired import point  # noqa: PLC0415 - needs Django's apps loaded

    point()
