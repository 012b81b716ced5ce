"""`topup simulate pos` against the running platform (gunicorn, worker, simulators as processes): a shop
registered with `topup retail`, a shift opened, a direct top-up and a PIN sold, a receipt printed, the PIN
voided, X and Z; a terminal with the wrong secret is refused and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.stack import Stack, platform


def pos(stack: Stack, terminal: str, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "topup.cli", "simulate", "pos", "--url", stack.url]
    command += ["--terminal", terminal, "--secret", secret, *args]
    return subprocess.run(command, env=stack.env, capture_output=True, text=True, check=False)


def answer(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.returncode == 0, done.stdout + done.stderr
    body: dict[str, object] = json.loads(done.stdout)
    return body


def test_a_shop_sells_through_the_pos_simulator(tmp_path: Path) -> None:
    with platform(tmp_path, "e2e_pos") as stack:
        retailer = stack.cli(
            "retail", "create", "Nachtwinkel Zuid", "--vat", "BE0999999999", "--credit", "20"
        )
        retailer_id = retailer.strip()
        stack.cli("retail", "commission", retailer_id, "--network", "proximus", "--bps", "300")
        assert "recorded" in stack.cli(
            "retail", "float-topup", retailer_id, "100.00", "--reference", "BANK-1"
        )
        assert "already" in stack.cli("retail", "float-topup", retailer_id, "100.00", "--reference", "BANK-1")
        terminal, secret = stack.cli("retail", "terminal", retailer_id, "--label", "till").splitlines()[-2:]
        refused = pos(stack, terminal, "wrong-secret", "open", "--float", "50")
        assert refused.returncode == 1
        assert "invalid_terminal_signature" in refused.stdout
        assert answer(pos(stack, terminal, secret, "open", "--float", "50.00"))["shift_id"]
        sold = answer(pos(stack, terminal, secret, "sell", "--ref", "T-1", "--plan", "proximus-credit-10",
                          "--msisdn", "0470 12 34 56", "--cash", "20.00"))  # fmt: skip
        assert sold["status"] == "sold"
        for _ in range(100):  # the worker delivers it
            status = answer(pos(stack, terminal, secret, "status", "T-1"))
            if status["order"]["status"] == "delivered":  # type: ignore[index]
                break
            time.sleep(0.2)
        assert status["order"]["status"] == "delivered"  # type: ignore[index]
        assert pos(stack, terminal, secret, "void", "T-1").returncode == 1  # with the carrier already
        pin_sale = answer(pos(stack, terminal, secret, "sell", "--ref", "T-2", "--plan", "proximus-credit-10",
                              "--pin", "--card", "--customer-language", "fr"))  # fmt: skip
        pin = pin_sale["pin"]["pin"]  # type: ignore[index]
        receipt = pos(stack, terminal, secret, "receipt", "T-2", "--format", "text")
        assert pin in receipt.stdout
        assert answer(pos(stack, terminal, secret, "void", "T-2"))["status"] == "voided"
        x = answer(pos(stack, terminal, secret, "x"))["report"]
        assert x["expected_cash_minor"] == 5000 + 1000  # type: ignore[index]
        z = answer(pos(stack, terminal, secret, "z", "--counted", "60.00"))
        assert z["report"]["variance_minor"] == 0  # type: ignore[index]
        assert pos(stack, terminal, secret, "z", "--counted", "60.00").returncode == 1  # closed already
        listing = json.loads(stack.cli("retail", "list"))
        shop = next(r for r in listing if r["id"] == retailer_id)
        assert shop["float"] == "90.30 EUR"  # 100 - 10 + 0.30 commission; the voided PIN gave its 9.70 back
