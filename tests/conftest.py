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


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """Every test runs with the configuration's peers installed, as a started process has them."""
    from tests.support.wired import point  # noqa: PLC0415 - needs Django's apps loaded

    point()
