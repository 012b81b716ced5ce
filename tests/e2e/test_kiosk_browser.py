"""The kiosk in a real browser: `topup serve` (with its cash acceptor simulator and the demo shop's kiosk
terminal), the kiosk enrolled with `topup kiosk enrol`, then `node tests/browser/kiosk.mjs` at 1080 x 1920:
in Chinese it sells a top-up for cash and prints the receipt, in French a card is declined then approved,
and the idle timeout returns to the start. Screenshots: artifacts/screenshots/kiosk-*.
Skipped when chromium or node_modules are missing, except under CI=true."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import LOGS, fresh_database_url
from tests.e2e.test_browser import ARTIFACTS, SERVE_PORTS, _free_port_block, _require_browser, _wait_healthy
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

KIOSK = ROOT / "tests" / "browser" / "kiosk.mjs"
IDLE_TIMEOUT_S = 15  # short, so that the idle journey waits 15 s and not a minute


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str], Path]]:
    """`topup serve` on a fresh database: the web URL, the cash acceptor's URL, its settings, the printer."""
    _require_browser()
    LOGS.mkdir(parents=True, exist_ok=True)
    port = _free_port_block(SERVE_PORTS)
    printer = tmp_path / "kiosk-printer.bin"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOPUP_")}
    env.update(
        {
            "TOPUP_ENV": "demo", "TOPUP_HOST": "127.0.0.1", "TOPUP_PORT": str(port),
            "TOPUP_DATA_DIR": str(tmp_path), "TOPUP_DATABASE_URL": fresh_database_url(tmp_path, "kiosk"),
            "TOPUP_WEB_WORKERS": "2", "TOPUP_KIOSK_PRINTER": f"file:{printer}",
            "TOPUP_KIOSK_IDLE_TIMEOUT_S": str(IDLE_TIMEOUT_S),
        }
    )  # fmt: skip
    env.pop("DJANGO_LIVE_TEST_SERVER_ADDRESS", None)
    log_path = LOGS / "kiosk-serve.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "topup.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            base, cash = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 8}"
            _wait_healthy(f"{base}/healthz", process, log_path)
            _wait_healthy(f"{cash}/healthz", process, log_path)
            yield base, cash, env, printer
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_the_kiosk_sells_for_cash_in_chinese_and_forgets_an_idle_customer(
    served: tuple[str, str, dict[str, str], Path],
) -> None:
    base, cash, env, printer = served
    payments = f"{base.rsplit(':', 1)[0]}:{int(base.rsplit(':', 1)[1]) + 1}"
    enrol_url = _run(env, "-m", "topup.cli", "kiosk", "enrol", "trm_demo_kiosk").strip().splitlines()[-1]
    assert enrol_url.startswith(f"{base}/kiosk/enrol?code=")
    result = subprocess.run(
        ["node", str(KIOSK), enrol_url, cash, str(ARTIFACTS), payments, "tmr_demo_kiosk"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, f"kiosk journeys failed:\n{result.stdout}\n{result.stderr}"
    printed = printer.read_bytes()
    assert printed.startswith(b"\x1b@"), "an ESC/POS job reached the printer"
    # One job per receipt, each opened by ESC @: the Chinese cash sale, then the French card sale.
    chinese, french = (b"\x1b@" + job for job in printed.split(b"\x1b@")[1:])
    assert b"\x1dv0" in chinese, "the Chinese receipt's lines go as raster images (GS v 0)"
    assert b"Nachtwinkel Anspach" in chinese, "the shop's name (Latin letters stay text)"
    assert chinese.endswith(b"\x1dV\x00"), "the paper is cut"
    assert b"9,99" in french, "the printed receipt carries the price"
    assert b"BASE 5 Go" in french, "the printed receipt names the network and plan, in French"
    assert b"7 jours" in french
