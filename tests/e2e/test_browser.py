"""Whole customer journeys in a real browser at 360 px: `topup serve` as one process, then
`node tests/browser/journeys.mjs` (playwright-core driving Debian's chromium; no browser download).

Top up a Proximus number in Chinese through the payment simulator's checkout until delivered, buy an
eSIM in French (with an e-mail address) and check its QR code carries the activation code shown, and that
the receipt e-mailed to an SMTP sink carries a QR code that decodes to it too; sign in on My line in Dutch
with the code the SMSC simulator's phone received. Screenshots of every step go to
artifacts/screenshots/. Skipped when chromium or node_modules are missing, except under CI=true.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.e2e.stack import LOGS, fresh_database_url
from tests.support.processes import ROOT
from tests.support.smtp_sink import Mailbox, smtp_sink

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
JOURNEYS = ROOT / "tests" / "browser" / "journeys.mjs"
ARTIFACTS = ROOT / "artifacts"
SERVE_PORTS = 9  # web, payments, carriers, SM-DP+, SMSC (SMPP), SMSC (HTTP) at +1..+5, DT One +7, cash +8


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    if shutil.which("node") is None:
        missing.append("node (Node.js 20)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        missing.append("node_modules/playwright-core (npm ci)")
    return missing


def _require_browser() -> None:
    missing = _missing()
    if not missing:
        return
    reason = "BROWSER JOURNEYS NOT RUN: missing " + ", ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: the browser journeys are required)", pytrace=False)
    pytest.skip(reason)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port_block(count: int) -> int:
    """A port P with P..P+count-1 all free: `topup serve` puts its simulators on the next five."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + count < 65535 and all(_port_free(port + i) for i in range(count)):
            return port
    raise RuntimeError(f"no block of {count} free ports on 127.0.0.1")


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"topup serve exited with {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy within {timeout_s} s; see {log}")


@pytest.fixture
def mail_sink() -> Iterator[tuple[Mailbox, int]]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def served(tmp_path: Path, mail_sink: tuple[Mailbox, int]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """`topup serve` on a fresh database, its e-mail going to `mail_sink`; yields the web URL, the SMSC
    simulator's HTTP URL, its settings."""
    _require_browser()  # before starting anything
    LOGS.mkdir(parents=True, exist_ok=True)
    port = _free_port_block(SERVE_PORTS)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOPUP_")}
    env.update(
        {
            "TOPUP_ENV": "demo",
            "TOPUP_HOST": "127.0.0.1",
            "TOPUP_PORT": str(port),
            "TOPUP_DATA_DIR": str(tmp_path),
            "TOPUP_DATABASE_URL": fresh_database_url(tmp_path, "browser"),
            "TOPUP_WEB_WORKERS": "2",
            "TOPUP_SMTP_HOST": "127.0.0.1",
            "TOPUP_SMTP_PORT": str(mail_sink[1]),
        }
    )
    env.pop("DJANGO_LIVE_TEST_SERVER_ADDRESS", None)
    log_path = LOGS / "browser-serve.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "topup.cli", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            smsc_http = f"http://127.0.0.1:{port + 5}"
            _wait_healthy(f"{base}/healthz", process, log_path)
            _wait_healthy(f"{smsc_http}/healthz", process, log_path)
            yield base, smsc_http, env
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # serve stops its children and waits for them
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _tail(path: Path, lines: int = 120) -> str:
    """The end of the server's log: what a CI failure needs to be understood without the machine."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def test_customer_journeys_in_a_browser(
    served: tuple[str, str, dict[str, str]], mail_sink: tuple[Mailbox, int]
) -> None:
    base, smsc_http, env = served
    result = subprocess.run(
        ["node", str(JOURNEYS), base, smsc_http, str(ARTIFACTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, (
        f"browser journeys failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n"
        f"the server's last lines ({LOGS / 'browser-serve.log'}):\n{_tail(LOGS / 'browser-serve.log')}"
    )
    if not os.environ.get("JOURNEYS") or "esim-fr" in os.environ["JOURNEYS"].split(","):
        _check_esim_receipt(mail_sink[0])
    if os.environ.get("JOURNEYS"):
        return  # a chosen few: the books of a partial demo are not the point
    # After the demo's journeys, Stripe's records and DT One's sales agree with our books to the cent.
    for what, clean in (("payments", "no mismatches"), ("carriers", "0 mismatch(es)")):
        books = subprocess.run(
            [sys.executable, "-m", "topup.cli", "reconcile", what], env=env, cwd=ROOT,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        print(books.stdout, books.stderr, sep="\n")
        assert (books.returncode, clean in books.stdout) == (0, True), f"reconcile {what}: {books.stdout}"


def _check_esim_receipt(mailbox: Mailbox) -> None:
    """The French eSIM's receipt, read from the sink: in French, its inline QR code decodes to the
    activation code it prints, and the PDF receipt is attached."""
    mail = mailbox.wait_for(lambda m: str(m["To"]) == "marie.dubois@example.fr", timeout_s=60)
    assert str(mail["Subject"]) == "Votre eSIM est prête"
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    qr = next(p for p in mail.walk() if str(p.get("Content-ID", "")) == "<esim-qr@topup>")
    decoded = [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.get_payload(decode=True))))]
    assert len(decoded) == 1
    assert decoded[0].startswith("LPA:1$")
    assert decoded[0] in content
    assert "Installez votre eSIM" in content
    pdfs = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_content()[:4] for p in pdfs] == [b"%PDF"]
