"""The chaos run's own platform: a fresh database, the processes of `topup serve` on TOPUP_PORT and the ports
after it, and the staff commands run against that database. Each process can be SIGKILLed and restarted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx
import psycopg

from topup.serve import Child, children_for
from topup.settings import CONFIG

# Tight clocks so that a short run still crosses deadlines, leases and payment expiries.
PLATFORM_SETTINGS = {
    "TOPUP_ENV": "test",
    "TOPUP_CARRIER_TIMEOUT_S": "1",
    "TOPUP_DELIVERY_DEADLINE_S": "20",
    "TOPUP_JOB_LEASE_S": "5",
    "TOPUP_PAYMENT_TTL_S": "15",
    "TOPUP_WORKER_THREADS": "4",
    "TOPUP_WEB_WORKERS": "2",
    "TOPUP_USSD_GATEWAY_KEYS": "chaos_ussd_gateway_key",
    "TOPUP_SMS_WEBHOOK_KEYS": "chaos_sms_webhook_key",
}
NAMES = {  # our short names -> serve.children_for() names
    "payments": "payments simulator",
    "carriers": "carriers simulator",
    "smdp": "SM-DP+ simulator",
    "smsc": "SMSC simulator",
    "web": "web",
    "sms-gateway": "SMS gateway",
    "worker": "worker",
}


class PlatformError(RuntimeError):
    """The platform could not be prepared or started."""


def database_url(requested: str | None, data_dir: Path, name: str) -> str:
    """A fresh database: a SQLite file in `data_dir`, or database `name` (re)created on the given server."""
    if not requested or requested.startswith("sqlite"):
        return f"sqlite:///{data_dir / 'topup.sqlite3'}"
    parsed = urlparse(requested)
    with _maintenance(requested) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    if url.startswith("postgres"):
        name = urlparse(url).path.lstrip("/")
        with _maintenance(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _maintenance(url: str) -> psycopg.Connection[tuple[object, ...]]:
    parsed = urlparse(url)
    return psycopg.connect(
        host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
        password=parsed.password or None, dbname="postgres", connect_timeout=5, autocommit=True,
    )  # fmt: skip


@dataclass
class Platform:
    data_dir: Path
    db_url: str
    seed: int
    relay_url: str  # where the payment simulator sends its webhooks (the runner's relay)
    esim_profiles: int = 200  # the SM-DP+ pool; cancelled profiles go back to it
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            **os.environ, **PLATFORM_SETTINGS,
            "TOPUP_DATA_DIR": str(self.data_dir), "TOPUP_DATABASE_URL": self.db_url,
        }  # fmt: skip
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        by_name = {
            child.name: child
            for child in children_for(CONFIG, data_dir=self.data_dir, webhook_url=self.relay_url)
        }
        extra = {
            "payments": ["--seed", str(self.seed)],
            "carriers": ["--seed", str(self.seed), "--timeout-sleep-s", "2"],
            "smdp": [
                "--seed",
                str(self.seed),
                "--step-delay-ms",
                "5",
                "--pool",
                f"BE-DATA:{self.esim_profiles}",
            ],
        }
        for short, name in NAMES.items():
            child = by_name[name]
            child.argv = [*child.argv, *extra.get(short, [])]
            child.env, child.log, child.own_group = self.env, logs / f"{short}.log", True
            self.procs[short] = child

    @property
    def url(self) -> str:
        return CONFIG.public_url

    def cli(self, *args: str, timeout_s: float = 300) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "topup.cli", *args],
            env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise PlatformError(f"topup {' '.join(args[:2])} failed: {done.stderr.strip()[-800:]}")
        return done.stdout

    def staff(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "topup.chaos.staff", *args],
            env=self.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise PlatformError(f"staff {args[0]} failed: {done.stderr.strip()[-800:]}")
        return done.stdout

    def start(self) -> None:
        self.cli("migrate")
        for short in NAMES:
            self.procs[short].start()
        self.wait_ready(60)

    def wait_ready(self, timeout_s: float) -> None:
        checks = {
            "web": f"{CONFIG.public_url}/healthz",
            "payments": f"{CONFIG.payments_url}/healthz",
            "carriers": f"{CONFIG.carriers_url}/healthz",
            "smdp": f"{CONFIG.smdp_url}/healthz",
            "smsc": f"http://{CONFIG.smsc_host or '127.0.0.1'}:{CONFIG.smsc_http_port}/healthz",
        }
        deadline = time.monotonic() + timeout_s
        for short, url in checks.items():
            while not _answers(url):
                if not self.procs[short].alive():
                    raise PlatformError(f"{short} exited; see {self.data_dir / 'logs' / short}.log")
                if time.monotonic() > deadline:
                    raise PlatformError(f"{url} did not answer within {timeout_s:.0f} s")
                time.sleep(0.2)

    def kill(self, short: str) -> None:
        self.procs[short].kill()

    def restart(self, short: str) -> None:
        """Start again; a port still held by the dead process's sockets makes the new one retry a while."""
        for _ in range(20):
            self.procs[short].start()
            time.sleep(1.0)
            if self.procs[short].alive():
                return
        raise PlatformError(f"{short} does not start again")

    def watch(self) -> list[str]:
        """Start any process that died by itself (not by our kill); the names of those restarted."""
        dead = [short for short, child in self.procs.items() if not child.alive()]
        for short in dead:
            self.procs[short].start()
        return dead

    def stop(self) -> None:
        for child in reversed(list(self.procs.values())):
            if child.alive() and child.process is not None:
                child.process.terminate()
        for child in self.procs.values():
            if child.process is None:
                continue
            try:
                child.process.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False
