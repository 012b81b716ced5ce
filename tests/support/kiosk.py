"""A kiosk for tests: a retailer with a float and a kiosk terminal, the cash acceptor simulator reporting to
the live server with that terminal's key, and a browser (Django's test client) enrolled for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from tests.support.processes import free_port, running
from topup.clock import now
from topup.services import kiosk_devices, kiosk_enrolment, retail_admin
from topup.settings import CONFIG

KIOSK_SECRET = "kiosk-test-secret-0123456789abcdef"


@dataclass
class Kiosk:
    terminal_id: str
    retailer_id: str
    cash_url: str

    def insert(self, amount_minor: int) -> dict[str, Any]:
        answer = httpx.post(f"{self.cash_url}/_sim/insert", json={"amount_minor": amount_minor}, timeout=20)
        body: dict[str, Any] = answer.json()
        return body

    def device_session(self, session_id: str) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.cash_url}/sessions/{session_id}", timeout=5).json()
        return body


def make_shop(
    name: str = "Nachtwinkel Anspach", *, float_minor: int = 50_000, terminal_id: str = ""
) -> Kiosk:
    retailer = retail_admin.create_retailer(
        name, vat_number="BE0123456749", address_lines=("Anspachlaan 1", "1000 Brussel")
    )
    if float_minor:
        retail_admin.float_topup(
            retailer.id, float_minor, bank_reference=f"B-{retailer.id}", recorded_by="staff"
        )
    credentials = retail_admin.create_terminal(
        retailer.id, "kiosk 1", kind="kiosk", terminal_id=terminal_id, secret=KIOSK_SECRET
    )
    return Kiosk(credentials.terminal_id, retailer.id, "")


@contextmanager
def cash_acceptor(live_url: str, kiosk: Kiosk, log_path: Any = None) -> Iterator[Kiosk]:
    """The cash acceptor simulator signing as `kiosk`'s terminal, reporting to the live server."""
    port = free_port()
    args = ["-m", "topup.simulators.cash", "--port", str(port), "--terminal", kiosk.terminal_id]
    args += ["--secret", KIOSK_SECRET, "--callback-url", f"{live_url}/kiosk/cash/events"]
    url = f"http://127.0.0.1:{port}"
    with running(args, f"{url}/healthz", log_path=log_path):
        kiosk_devices.set_devices(kiosk.terminal_id, reader_id=None, cash_url=url, printer=None)  # its own
        kiosk.cash_url = url
        yield kiosk


def print_to_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The kiosk printer as a file under `tmp_path` (TOPUP_KIOSK_PRINTER=file:…), returned."""
    out = tmp_path / "printer.bin"
    monkeypatch.setattr(kiosk_devices, "CONFIG", dataclasses.replace(CONFIG, kiosk_printer=f"file:{out}"))
    return out


def enrolled_browser(terminal_id: str) -> Client:
    browser = Client()
    _enrolment, code = kiosk_enrolment.make_code(terminal_id, at=now())
    response = browser.get(f"/kiosk/enrol?code={code}")
    assert response.status_code == 302, response.content
    return browser
