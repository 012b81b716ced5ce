"""The agent console's journey in a real browser: `topup serve` as one process, two accounts made with
`topup agents create`, then `node tests/browser/agent.mjs` (playwright-core driving Debian's chromium).

An agent signs in with TOTP, finds a customer by `0470 12 34 56`, records an identity check, sells an eSIM
for cash (its QR code decoded from the page), asks for a refund above their limit; a supervisor in a
second browser context approves it; the audit log shows every step and `topup agents audit-verify` finds
the chain intact. Screenshots under artifacts/screenshots/agent-*.png.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.e2e.browser_stack import ARTIFACTS
from tests.e2e.browser_stack import tail as _tail
from tests.e2e.stack import LOGS
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow

JOURNEY = ROOT / "tests" / "browser" / "agent.mjs"


def _create(env: dict[str, str], username: str, role: str, limit: str) -> dict[str, str]:
    made = subprocess.run(
        [sys.executable, "-m", "topup.cli", "agents", "create", username, "--role", role,
         "--refund-limit", limit, "--no-qr"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=True,
    )  # fmt: skip
    password = re.search(r"password \(shown once, not stored in clear\): (\S+)", made.stdout)
    secret = re.search(r"secret=([A-Z2-7]+)", made.stdout)
    assert password, made.stdout
    assert secret, made.stdout
    return {"username": username, "password": password.group(1), "secret": secret.group(1)}


def test_agent_console_journey_in_a_browser(served: tuple[str, str, dict[str, str]]) -> None:
    base, _smsc, env = served
    agents = {
        "agent": _create(env, "alice", "agent", "25.00"),
        "supervisor": _create(env, "sam", "supervisor", "250.00"),
    }
    result = subprocess.run(
        ["node", str(JOURNEY), base, str(ARTIFACTS), json.dumps(agents)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    print(result.stdout, result.stderr, sep="\n")
    assert result.returncode == 0, (
        f"agent journey failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n"
        f"the server's last lines:\n{_tail(LOGS / 'browser-serve.log')}"
    )
    verified = subprocess.run(
        [sys.executable, "-m", "topup.cli", "agents", "audit-verify"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout
    assert "intact" in verified.stdout
