"""The whole platform as separate processes on loopback (simulators, gunicorn, worker) on a fresh database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx

from tests.support.postgres import maintenance_connection
from tests.support.processes import ROOT, free_port, running, stop, wait_until_ready
from tests.support.smtp_sink import Mailbox, smtp_sink

LOGS = ROOT / "artifacts" / "logs"


def fresh_database_url(data_dir: Path, name: str) -> str:
    """A new empty database of the kind the suite runs on: a SQLite file, or a PostgreSQL database."""
    url = os.environ.get("TOPUP_DATABASE_URL", "sqlite:///")
    if url.startswith("sqlite"):
        return f"sqlite:///{data_dir / f'{name}.sqlite3'}"
    parsed = urlparse(url)
    # Named after the suite's own database first, so that two suites sharing one server never drop each
    # other's stack database (DROP ... WITH (FORCE) ends every connection to it), and a suite given its
    # own prefix on a shared server (topup_<name>...) keeps its stack databases under that prefix.
    name = f"{parsed.path.lstrip('/')}__{name}"[:63]
    with maintenance_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}"))


@dataclass
class Stack:
    env: dict[str, str]
    url: str
    payments_url: str
    carriers_url: str
    worker: subprocess.Popen[bytes] | None = None
    exits: ExitStack = field(default_factory=ExitStack)
    mailbox: Mailbox = field(default_factory=Mailbox)  # what the platform e-mailed (an SMTP sink)

    def cli(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "topup.cli", *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def start_worker(self) -> None:
        log = open(LOGS / "e2e-worker.log", "ab")  # noqa: SIM115 - closed with the stack
        self.exits.callback(log.close)
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "topup.cli", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()

    def carriers(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.env['TOPUP_CARRIER_API_KEY']}"}
        return httpx.Client(base_url=self.carriers_url, headers=headers, timeout=10)


@contextmanager
def platform(
    data_dir: Path, name: str, extra_env: dict[str, str] | None = None, carrier_args: tuple[str, ...] = ()
) -> Iterator[Stack]:
    LOGS.mkdir(parents=True, exist_ok=True)
    with (
        smtp_sink() as sink,
        _platform(data_dir, name, sink, extra_env=extra_env, carrier_args=carrier_args) as stack,
    ):
        yield stack


@contextmanager
def _platform(
    data_dir: Path,
    name: str,
    sink: tuple[Mailbox, int],
    *,
    extra_env: dict[str, str] | None,
    carrier_args: tuple[str, ...],
) -> Iterator[Stack]:
    mailbox, smtp_port = sink
    port, pay_port, car_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "TOPUP_ENV": "test",
        "TOPUP_DATA_DIR": str(data_dir),
        "TOPUP_DATABASE_URL": fresh_database_url(data_dir, name),
        "TOPUP_PORT": str(port),
        "TOPUP_PAYMENTS_PORT": str(pay_port),
        "TOPUP_CARRIERS_PORT": str(car_port),
        "TOPUP_CARRIER_API_KEY": "carrier_e2e_key",
        "TOPUP_WEB_WORKERS": "2",
        "TOPUP_SMSC_HOST": "",
        "TOPUP_SMTP_HOST": "127.0.0.1",
        "TOPUP_SMTP_PORT": str(smtp_port),
        **(extra_env or {}),
    }
    env.pop("DJANGO_LIVE_TEST_SERVER_ADDRESS", None)
    stack = Stack(
        env, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{pay_port}", f"http://127.0.0.1:{car_port}",
        mailbox=mailbox,
    )  # fmt: skip
    stack.cli("migrate")
    with stack.exits:
        webhook = f"{stack.url}/api/v1/payments/webhooks/stripe"
        stack.exits.enter_context(
            running(
                ["-m", "topup.cli", "simulate", "payments", "--webhook-url", webhook, "--seed", "11"],
                f"{stack.payments_url}/healthz",
                env,
                LOGS / f"{name}-payments.log",
            )
        )
        stack.exits.enter_context(
            running(
                ["-m", "topup.cli", "simulate", "carriers", "--seed", "11", *carrier_args],
                f"{stack.carriers_url}/healthz",
                env,
                LOGS / f"{name}-carriers.log",
            )
        )
        web = stack.exits.enter_context(
            running(["-m", "topup.cli", "web"], None, env, LOGS / f"{name}-web.log")
        )
        wait_until_ready(f"{stack.url}/healthz", web)
        stack.start_worker()
        stack.exits.callback(lambda: stack.worker and stop(stack.worker))
        yield stack
