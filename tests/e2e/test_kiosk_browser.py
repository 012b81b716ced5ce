"""The kiosk in a real browser: `topup serve` (with its cash acceptor simulator and the demo shop's kiosk
terminal), the kiosk enrolled with `topup kiosk enrol`, then `node tests/browser/kiosk.mjs` at 1080 x 1920:
in Chinese it sells a top-up for cash and prints the receipt, in French a card is declined then approved,
and the idle timeout returns to the start. Screenshots: artifacts/screenshots/kiosk-*.
Skipped when chromium or node_modules are missing, except under CI=true."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_stack import ARTIFACTS, serving
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

KIOSK = ROOT / "tests" / "browser" / "kiosk.mjs"
IDLE_TIMEOUT_S = 15  # short, so that the idle journey waits 15 s and not a minute


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str], Path]]:
    """`topup serve` on a fresh database: the web URL, the cash acceptor's URL, its settings, the printer."""
    printer = tmp_path / "kiosk-printer.bin"
    settings = {"TOPUP_KIOSK_PRINTER": f"file:{printer}", "TOPUP_KIOSK_IDLE_TIMEOUT_S": str(IDLE_TIMEOUT_S)}
    with serving(tmp_path, "kiosk", settings, healthy=(8,)) as server:
        yield server.base, server.peer(8), server.env, printer


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
