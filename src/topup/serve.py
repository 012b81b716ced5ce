"""`topup serve`: migrate and seed, then run the web server, the worker and the simulators as children.

In production (TOPUP_ENV=production) it migrates without the demo and runs only the web server, the worker
and, when TOPUP_SMSC_HOST is set, the SMS gateway: no simulator, no demo seed, no admin key.
The simulators start first (they need no database) while the database is prepared; a second start finds
the demo prepared (`serve_state`) and starts everything at once. The banner comes when the web answers
/healthz and every simulator its port. A child that dies is started again; Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse, urlunparse

from topup import serve_state
from topup.adapters.payments.stripe import WEBHOOK_EVENTS
from topup.command_name import topup_command
from topup.metrics import processes
from topup.settings import CONFIG, Config


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    env: dict[str, str] | None = None  # None: this process's environment
    log: Path | None = None  # appended to; None: this process's output
    own_group: bool = False  # in its own process group, so that `kill` reaches its children too
    ready: str = ""  # what answers once it is up: an http:// URL or tcp://host:port; "" no probe
    needs_database: bool = True  # False: may start before the database is migrated (the simulators)

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


def children_for(
    config: Config, *, data_dir: Path | None = None, webhook_url: str | None = None
) -> list[Child]:
    """The processes `topup serve` runs, in start order: the simulators in the demo only (their state files in
    `data_dir`, their webhooks to `webhook_url`), the SMS gateway with an SMSC."""
    platform = [Child("web", ["web"], ready=f"http://{config.host}:{config.port}/healthz")]
    if config.smsc_host:
        platform.append(Child("SMS gateway", ["sms-gateway"]))
    platform.append(Child("worker", ["worker"]))
    if config.is_production:
        return platform
    webhook_url = webhook_url or f"{config.public_url}/api/v1/payments/webhooks/stripe"
    return [*_simulators(config, data_dir or config.data_dir, webhook_url), *platform]


def _simulators(config: Config, data_dir: Path, webhook_url: str) -> list[Child]:
    children = _simulator_commands(config, data_dir, webhook_url)
    ports = {
        "payments simulator": config.payments_port, "carriers simulator": config.carriers_port,
        "SM-DP+ simulator": config.smdp_port, "SMSC simulator": config.smsc_http_port,
        "cash acceptor simulator": config.cash_port, "DT One simulator": config.dtone_port,
        "mail sink": config.mail_port,
    }  # fmt: skip
    for child in children:  # the SMSC by its phones' web side: a probe of the SMPP port is logged as an ESME
        child.needs_database = False
        child.ready = f"tcp://{config.host}:{ports[child.name]}"
    return children


def _simulator_commands(config: Config, data_dir: Path, webhook_url: str) -> list[Child]:
    return [
        Child(
            "payments simulator",
            [
                "simulate",
                "payments",
                "--webhook-url",
                webhook_url,
                "--webhook-events",
                ",".join(WEBHOOK_EVENTS),
                "--state-file",
                str(data_dir / "payments.sqlite3"),
            ],
        ),
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
                str(config.smdp_port),
                "--api-key",
                config.smdp_api_key,
                "--callback-url",
                f"{config.public_url}/gsma/rsp2/es2plus/handleDownloadProgressInfo",
                "--callback-key",
                config.smdp_callback_key,
                "--state-file",
                str(data_dir / "smdp.sqlite3"),
            ],
        ),
        Child("SMSC simulator", ["simulate", "smsc"]),
        Child("cash acceptor simulator", ["simulate", "cash", "--port", str(config.cash_port)]),
    ] + (  # the aggregator's simulator when a network is routed to it (the demo routes Orange Belgium)
        [
            Child(
                "DT One simulator",
                [
                    "simulate",
                    "dtone",
                    "--port",
                    str(config.dtone_port),
                    "--state-file",
                    str(data_dir / "dtone.sqlite3"),
                ],
            )
        ]
        if "dtone" in config.carrier_routes.values()
        else []
    ) + (  # the demo's e-mail, kept in a Maildir, unless TOPUP_SMTP_HOST names a relay
        [Child("mail sink", ["simulate", "mail", "--port", str(config.mail_port), "--maildir",
                             str(data_dir / "mail")])]
        if config.mail_sink
        else []
    )  # fmt: skip


def _prepare(config: Config) -> serve_state.Prepared | None:
    """Migrate; in the demo also seed and make the demo admin key (None in production). Prints as it goes."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
    from topup.process import setup_once  # noqa: PLC0415

    setup_once()
    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", interactive=False, verbosity=0)
    if config.is_production:
        return None
    from topup.fx_cli import import_rates, summary  # noqa: PLC0415
    from topup.services.promotion_seed import seed_demo_promotions  # noqa: PLC0415
    from topup.services.retail_seed import demo_banner, seed_demo_shop  # noqa: PLC0415
    from topup.services.seed import demo_admin_key, seed_demo  # noqa: PLC0415

    seed_demo()
    notes = summary(import_rates()) + "\n"  # the bundled sample: yuan for Alipay and WeChat Pay payers
    seed_demo_shop()
    seed_demo_promotions()  # a first top-up discount, a buy-one-get-one, the code FLYER5
    notes += demo_banner()
    print(notes, end="", flush=True)
    return serve_state.Prepared(admin_key=demo_admin_key(), notes=notes)


def banner(config: Config, admin_key: str | None) -> str:
    url = config.database_url
    database = "SQLite" if url.startswith("sqlite") else _without_password(url)
    text = (
        f"\nTopup is running ({config.env})\n"
        f"  web and API      {config.public_url}/   (API docs: {config.public_url}/api/v1/docs)\n"
        f"  health, metrics  {config.public_url}/healthz  {config.public_url}/metrics\n"
    )
    topup = topup_command()  # the hints work as printed: `.venv/bin/topup` under `make run`
    if not config.is_production:
        text += (
            f"  payments sim     {config.payments_url}/\n"
            f"  carriers sim     {config.carriers_url}/\n"
            f"  DT One DVS sim   {config.dtone_url}/v1/   (routes: {_routes(config)})\n"
            f"  SM-DP+ sim       {config.smdp_url}/\n"
            f"                   ({topup} simulate phone --activation-code 'LPA:1$...')\n"
            f"  SMSC sim         smpp://{config.smsc_host}:{config.smsc_port}, phones at "
            f"http://{config.smsc_host}:{config.smsc_http_port}/\n"
            f"                   ({topup} simulate sms --from <a Belgian number> --text SALDO)\n"
            f"  kiosk            {config.public_url}/kiosk/   (enrol: {topup} kiosk enrol trm_demo_kiosk)\n"
            f'  cash acceptor    {config.cash_url}/   (insert: POST /_sim/insert {{"amount_minor": 2000}})\n'
        )
    if not config.is_production:
        text += f"  e-mail           {_mail(config)}\n"
    text += f"  database         {database}\n  data folder      {config.data_dir}\n"
    if admin_key is not None and not config.is_production:
        text += f"  demo admin key   {admin_key}\n"
    return text + "Press Ctrl-C to stop.\n"


def _mail(config: Config) -> str:
    """Where the demo's e-mail (receipts, eSIM QR codes, My eSIMs codes) can be read."""
    if config.mail_sink:
        return (
            f"kept in {config.data_dir / 'mail'}/new/ (SMTP sink on port {config.mail_port}; "
            f"{topup_command()} simulate mail list | show)"
        )
    if config.smtp_host:
        return f"sent to smtp://{config.smtp_host}:{config.smtp_port}"
    return "none sent (TOPUP_SMTP_HOST is empty)"


def _routes(config: Config) -> str:
    return ", ".join(f"{network}={route}" for network, route in sorted(config.carrier_routes.items()))


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        parsed = parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@"))
    return urlunparse(parsed)


PID_FILE = "serve.pids.json"  # in the data folder: which process is which, for `topup bench`'s CPU counts


def write_pid_file(path: Path, children: list[Child]) -> None:
    """Each running child's role and pid (and serve's own), replaced atomically whenever a child starts."""
    roles = [
        {"role": child.name, "pid": child.process.pid}
        for child in children
        if child.process is not None and child.alive()
    ]
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"serve": os.getpid(), "children": roles}))
    scratch.replace(path)


def serve() -> None:
    processes.prepare(CONFIG.metrics_dir, fresh=True)  # /metrics: every child writes its figures there
    children = children_for(CONFIG)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    prepared = serve_state.recall(CONFIG)  # a second start: the database is as the last one left it
    if prepared is not None:
        print(prepared.notes, end="", flush=True)
    for child in children:
        if prepared is not None or not child.needs_database:
            child.start()  # the simulators boot while the database is prepared
    if prepared is None:
        prepared = _prepare(CONFIG)
        if prepared is not None:
            serve_state.remember(CONFIG, prepared)
        for child in children:
            if child.process is None:
                child.start()
    pid_file = CONFIG.data_dir / PID_FILE
    write_pid_file(pid_file, children)
    late = wait_ready(children, deadline_s=60, stopping=lambda: stopping)
    print(banner(CONFIG, prepared.admin_key if prepared else None), end="", flush=True)
    if late:
        print(f"not answering yet: {', '.join(late)}", file=sys.stderr, flush=True)
    print(flush=True)
    _supervise(children, lambda: stopping, pid_file)
    _shutdown(children)
    pid_file.unlink(missing_ok=True)


def wait_ready(children: list[Child], *, deadline_s: float, stopping: Callable[[], bool]) -> list[str]:
    """Probe each child until it answers (or dies, or the deadline passes); the names of those that do not."""
    waiting = [child for child in children if child.ready]
    deadline = time.monotonic() + deadline_s
    while waiting and time.monotonic() < deadline and not stopping():
        waiting = [child for child in waiting if child.alive() and not answers(child.ready)]
        if waiting:
            time.sleep(0.05)
    return [child.name for child in children if child.ready and not answers(child.ready)]


def answers(probe: str) -> bool:
    """True when `probe` (an http:// URL answering, or tcp://host:port accepting) is up. Any HTTP answer
    counts: production refuses a Host header other than its own (400) and its app is up all the same."""
    parsed = urlparse(probe)
    try:
        if parsed.scheme == "tcp":
            with socket.create_connection((parsed.hostname or "", parsed.port or 0), timeout=0.5):
                return True
        with urllib.request.urlopen(probe, timeout=2):  # noqa: S310 - our own http:// probe
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _supervise(children: list[Child], stopping: Callable[[], bool], pid_file: Path) -> None:
    """Start again a child that died, until stopped; one that dies more than 5 times a minute stops all."""
    while not stopping():
        time.sleep(0.5)
        for child in children:
            if not stopping() and not child.alive():
                child.restarts = [t for t in child.restarts if time.monotonic() - t < 60] + [time.monotonic()]
                if len(child.restarts) > 5:
                    print(f"{child.name} keeps dying; stopping everything", file=sys.stderr, flush=True)
                    return
                print(f"{child.name} exited; starting it again", file=sys.stderr, flush=True)
                child.start()
                write_pid_file(pid_file, children)


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
