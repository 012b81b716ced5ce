"""`topup serve` as one process for the browser journeys: a free block of ports, a fresh demo database, the
process started in its own group, waited healthy, and stopped (SIGTERM, then SIGKILL) afterwards.

Each journey module asks `serving(tmp_path, name, settings)` for its server; `require_browser()` skips (or,
under CI=true, fails) when chromium, node or node_modules are missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import LOGS, fresh_database_url
from tests.support.processes import ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "artifacts"
# web, payments, carriers, SM-DP+, SMSC (SMPP), SMSC (HTTP) at +1..+5, DT One +7, cash +8, mail sink +9
SERVE_PORTS = 10


@dataclass(frozen=True)
class Served:
    base: str  # the web URL
    port: int  # the web port; the simulators are on the next ones (SERVE_PORTS)
    env: dict[str, str]  # the server's settings, for commands run against the same database
    log: Path

    def peer(self, offset: int) -> str:
        """A simulator's URL: +1 payments, +5 the SMSC's HTTP side, +8 the cash acceptor."""
        return f"http://127.0.0.1:{self.port + offset}"


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    if shutil.which("node") is None:
        missing.append("node (Node.js 20)")
    if not (ROOT / "node_modules" / "playwright-core").is_dir():
        missing.append("node_modules/playwright-core (npm ci)")
    return missing


def require_browser() -> None:
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


def free_port_block(count: int = SERVE_PORTS) -> int:
    """A port P with P..P+count-1 all free: `topup serve` puts its simulators on the next ones."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + count < 65535 and all(_port_free(port + i) for i in range(count)):
            return port
    raise RuntimeError(f"no block of {count} free ports on 127.0.0.1")


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 90.0) -> None:
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


def tail(path: Path, lines: int = 120) -> str:
    """The end of the server's log: what a CI failure needs to be understood without the machine."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def serving(
    tmp_path: Path,
    name: str,
    settings: Mapping[str, str] = {},
    *,
    healthy: tuple[int, ...] = (),
    browser: bool = True,
) -> Iterator[Served]:
    """`topup serve` (demo) on a fresh database named `name`, with `settings` added; waits until the web
    and the simulators at the `healthy` offsets answer /healthz. `browser=False`: a journey over HTTP only."""
    if browser:
        require_browser()  # before starting anything
    LOGS.mkdir(parents=True, exist_ok=True)
    port = free_port_block()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOPUP_")}
    env.update(
        {
            "TOPUP_ENV": "demo", "TOPUP_HOST": "127.0.0.1", "TOPUP_PORT": str(port),
            "TOPUP_DATA_DIR": str(tmp_path), "TOPUP_DATABASE_URL": fresh_database_url(tmp_path, name),
            "TOPUP_WEB_WORKERS": "2", **settings,
        }
    )  # fmt: skip
    env.pop("DJANGO_LIVE_TEST_SERVER_ADDRESS", None)
    log_path = LOGS / f"{name}-serve.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "topup.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            served = Served(f"http://127.0.0.1:{port}", port, env, log_path)
            wait_healthy(f"{served.base}/healthz", process, log_path)
            for offset in healthy:
                wait_healthy(f"{served.peer(offset)}/healthz", process, log_path)
            yield served
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # serve stops its children and waits for them
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
