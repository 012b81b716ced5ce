"""`topup bench --balance` against a served demo: a key the server refuses stops it before any load; every
scheduled check is answered, the report names its rate and latencies, and the CPU of web and worker is read
from the processes `topup serve` lists in its pid file (PostgreSQL's too when the suite runs on PostgreSQL).
Nothing here asserts a speed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browser_stack import serving
from tests.support.processes import ROOT
from topup.bench.cpu import read_stat
from topup.serve import PID_FILE

pytestmark = pytest.mark.slow

RATE, DURATION_S = 40, 2


def _admin_key(log: Path) -> str:
    found = re.findall(r"demo admin key\s+(tpk_\S+)", log.read_text(errors="replace"))
    assert found, f"no demo admin key in {log}"
    return str(found[-1])  # the log is appended to: this run's banner is the last


def test_balance_checks_are_scheduled_answered_and_measured(tmp_path: Path) -> None:
    with serving(tmp_path, "benchbalance") as server:
        pids = json.loads((tmp_path / PID_FILE).read_text())
        roles = {child["role"]: child["pid"] for child in pids["children"]}
        assert {"web", "worker", "carriers simulator"} <= roles.keys()
        assert all(read_stat(pid) is not None for pid in roles.values())  # live processes, not stale
        database_url = server.env["TOPUP_DATABASE_URL"]
        refused = _bench(server.env, "--balance-key", "tpk_nobody_secret", "--url", server.base)
        done = subprocess.run(
            [
                sys.executable, "-m", "topup.cli", "bench", "--balance", "--json",
                "--rate", str(RATE), "--duration-s", str(DURATION_S), "--balance-lines", "5",
                "--admin-key", _admin_key(server.log), "--url", server.base,
                "--pid-file", str(tmp_path / PID_FILE), "--database-url", database_url,
            ],
            env=server.env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert refused.returncode == 2  # a usage error: no load was sent with a key the server refuses
    assert "401" in refused.stderr
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["mode"] == "balance"
    assert report["sent"] == RATE * DURATION_S
    assert report["ok"] == RATE * DURATION_S, report["errors"]
    assert report["errors"] == {}
    assert report["p50_ms"] is not None
    assert report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
    parts = report["cpu"]["parts"]
    assert parts["web"]["cpu_s"] is not None  # gunicorn answered every check: it found those processes
    assert parts["bench_client"]["cpu_s"] is not None
    if database_url.startswith("postgres"):
        assert parts["postgres"]["cpu_s"] is not None
    else:
        assert parts["postgres"]["note"] == "not measured: the database is not PostgreSQL"


def _bench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "topup.cli", "bench", "--balance", "--json", "--rate", "10", *args]
    return subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
