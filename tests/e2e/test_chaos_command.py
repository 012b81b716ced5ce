"""`topup chaos --seed 1 --orders 60`: the whole platform as processes, killed and faulted while orders go in
over the API, SMS, USSD and vouchers; the command exits 0 only when every promise held (see topup.chaos).
Replaces the former 500-order test_chaos.py, whose checks (killed worker, faulty carriers, delivered xor
refunded, carrier and provider books, trial balance) the command makes, and more."""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.slow
PORTS = 7  # web, payments, carriers, SM-DP+, SMPP, phones, webhook relay
# A whole Belgian mobile number in any common form: +32 470 12 34 56, 0032…, 32470123456, 0470123456.
FULL_NUMBER = re.compile(r"(?<![\w•+])(?:\+?32|0032|0)?\s?4[5-9]\d(?:[ ./-]?\d{2}){3}(?![\w•])")


def _free_run_of_ports() -> int:
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 40_000)
        sockets = []
        try:
            for port in range(base, base + PORTS):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no run of free ports")


def _database_url() -> str:
    url = os.environ.get("TOPUP_DATABASE_URL", "sqlite:///")
    if url.startswith("sqlite"):
        return ""
    return urlunparse(urlparse(url)._replace(path="/topup_e2e_chaos_command"))


def test_a_seeded_chaos_run_keeps_every_promise() -> None:
    env = {**os.environ, "TOPUP_PORT": str(_free_run_of_ports())}
    for name in ("TOPUP_PAYMENTS_PORT", "TOPUP_CARRIERS_PORT", "TOPUP_SMDP_PORT", "TOPUP_SMSC_PORT",
                 "TOPUP_SMSC_HTTP_PORT", "TOPUP_PUBLIC_URL", "TOPUP_PAYMENTS_URL", "TOPUP_CARRIERS_URL",
                 "TOPUP_SMDP_URL", "DJANGO_SETTINGS_MODULE", "TOPUP_DATABASE_URL"):  # fmt: skip
        env.pop(name, None)
    args = ["--seed", "1", "--orders", "60", "--concurrency", "8", "--keep"]
    if url := _database_url():
        args += ["--database-url", url]
    done = subprocess.run(
        [sys.executable, "-m", "topup.cli", "chaos", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert "replay: topup chaos --seed 1 --orders 60" in done.stdout, done.stderr[-2000:]
    kept = re.search(r"data kept in (\S+)", done.stdout)
    assert kept is not None, done.stdout
    try:
        assert done.returncode == 0, done.stdout
        # Every process of the run (web, worker, SMS gateway, simulators) logged without a full number.
        for log in sorted(Path(kept.group(1), "logs").glob("*.log")):
            found = FULL_NUMBER.search(log.read_text(encoding="utf-8", errors="replace"))
            assert found is None, f"{log.name} logs a full number: {found.group(0) if found else ''}"
    finally:
        shutil.rmtree(kept.group(1), ignore_errors=True)
