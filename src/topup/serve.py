"""`topup serve`: migrate and seed, then run the web server, the worker and the simulators as children.

A child that dies is started again; Ctrl-C or SIGTERM stops them all and waits for them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse, urlunparse

from topup.settings import CONFIG


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    env: dict[str, str] | None = None  # None: this process's environment
    log: Path | None = None  # appended to; None: this process's output
    own_group: bool = False  # in its own process group, so that `kill` reaches its children too

    def start(self) -> None:
        argv = [sys.executable, "-m", "topup.cli", *self.argv]
        if self.log is None:
            group = self.own_group
            self.process = subprocess.Popen(argv, env=self.env, start_new_session=group)  # noqa: S603
            return
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603
                argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=self.own_group
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would; the whole process group when the child has one (gunicorn's workers)."""
        if self.process is None:
            return
        if self.own_group:
            with contextlib.suppress(ProcessLookupError):  # it died by itself a moment ago
                os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()
        self.process.wait()


def _children() -> list[Child]:
    return children(CONFIG.data_dir, f"{CONFIG.public_url}/api/v1/payments/webhooks/sandbox")


def children(data_dir: Path, webhook_url: str) -> list[Child]:
    """The platform's processes and its simulators, in start order; state files live in `data_dir`."""
    return [
        Child("payments simulator", ["simulate", "payments", "--webhook-url", webhook_url]),
        Child(
            "carriers simulator",
            ["simulate", "carriers", "--state-file", str(data_dir / "carriers.sqlite3")],
        ),
        Child(
            "SM-DP+ simulator",
            [
                "simulate",
                "smdp",
                "--port",
                str(CONFIG.smdp_port),
                "--api-key",
                CONFIG.smdp_api_key,
                "--callback-url",
                f"{CONFIG.public_url}/gsma/rsp2/es2plus/handleDownloadProgressInfo",
                "--callback-key",
                CONFIG.smdp_callback_key,
                "--state-file",
                str(data_dir / "smdp.sqlite3"),
            ],
        ),
        Child("SMSC simulator", ["simulate", "smsc"]),
        Child("web", ["web"]),
        Child("SMS gateway", ["sms-gateway"]),
        Child("worker", ["worker"]),
    ]


def _prepare() -> str:
    """Migrate, seed and make the demo admin key; returns the key."""
    CONFIG.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    from topup.services.seed import demo_admin_key, seed_demo  # noqa: PLC0415

    call_command("migrate", interactive=False, verbosity=0)
    seed_demo()
    return demo_admin_key()


def _banner(admin_key: str) -> None:
    url = CONFIG.database_url
    database = "SQLite" if url.startswith("sqlite") else _without_password(url)
    print(
        "\nTopup is running\n"
        f"  web and API      {CONFIG.public_url}/   (API docs: {CONFIG.public_url}/api/v1/docs)\n"
        f"  health, metrics  {CONFIG.public_url}/healthz  {CONFIG.public_url}/metrics\n"
        f"  payments sim     {CONFIG.payments_url}/\n"
        f"  carriers sim     {CONFIG.carriers_url}/\n"
        f"  SM-DP+ sim       {CONFIG.smdp_url}/   (topup simulate phone --activation-code 'LPA:1$...')\n"
        f"  SMSC sim         smpp://{CONFIG.smsc_host}:{CONFIG.smsc_port}, phones at "
        f"http://{CONFIG.smsc_host}:{CONFIG.smsc_http_port}/\n"
        "                   (topup simulate sms --from +32470123456 --text SALDO)\n"
        f"  database         {database}\n"
        f"  data folder      {CONFIG.data_dir}\n"
        f"  demo admin key   {admin_key}\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        parsed = parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@"))
    return urlunparse(parsed)


def serve() -> None:
    admin_key = _prepare()
    children = _children()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.start()
    _banner(admin_key)
    while not stopping:
        time.sleep(0.5)
        for child in children:
            if not stopping and not child.alive():
                child.restarts = [t for t in child.restarts if time.monotonic() - t < 60] + [time.monotonic()]
                if len(child.restarts) > 5:
                    print(f"{child.name} keeps dying; stopping everything", file=sys.stderr, flush=True)
                    stopping = True
                    break
                print(f"{child.name} exited; starting it again", file=sys.stderr, flush=True)
                child.start()
    _shutdown(children)


def _shutdown(children: list[Child]) -> None:
    print("stopping...", flush=True)
    for child in reversed(children):
        if child.alive() and child.process is not None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
    print("stopped", flush=True)
