"""Fixtures shared by the browser journeys: an SMTP sink, and `topup serve` e-mailing into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_stack import Served, serving
from tests.support.smtp_sink import Mailbox, smtp_sink


@pytest.fixture
def mail_sink() -> Iterator[tuple[Mailbox, int]]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def served(tmp_path: Path, mail_sink: tuple[Mailbox, int]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """`topup serve` on a fresh database, its e-mail going to `mail_sink`; yields the web URL, the SMSC
    simulator's HTTP URL, its settings."""
    mail = {"TOPUP_SMTP_HOST": "127.0.0.1", "TOPUP_SMTP_PORT": str(mail_sink[1])}
    with serving(tmp_path, "browser", mail, healthy=(5,)) as server:
        yield server.base, server.peer(5), server.env


__all__ = ["Served", "mail_sink", "served"]
