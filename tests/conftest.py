"""Test set-up shared by every layer."""

from __future__ import annotations

import logging
import os

import pytest

from tests.support.processes import free_port

# Django's live server takes a free loopback port; the simulators are started on free ports by fixtures.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", f"127.0.0.1:{free_port()}")

logging.getLogger("httpx").setLevel(logging.WARNING)


def pytest_configure() -> None:
    """The SQLite test database lives in the data folder: make sure it exists on a fresh clone."""
    from topup.settings import CONFIG  # noqa: PLC0415

    CONFIG.data_dir.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """Every test runs with the configuration's peers installed, as a started process has them."""
    from tests.support.wired import point  # noqa: PLC0415 - needs Django's apps loaded

    point()
