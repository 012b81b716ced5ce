"""`topup chaos`: a seeded, replayable run of the whole platform under faults, judged by its invariants.

It starts its own platform processes and simulators on TOPUP_PORT and the ports after it (the relay of
payment webhooks on TOPUP_PORT + 6), on a fresh database, drives `--orders` orders over the API, SMS, USSD
and vouchers while it kills processes, duplicates, replays and forges webhooks, makes carriers and the SM-DP+
fail, deactivates plans and cancels eSIMs; then waits until the system is quiet and checks every promise. One
`random.Random(seed)` makes every decision (see `topup.chaos.schedule`). Exit status: 0 all promises held,
1 a violation (the orders are named), 2 a usage error or a platform that would not start.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse

from topup.chaos.schedule import build

__all__ = ["add_arguments", "run"]
MAX_ORDERS = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--seed", type=int, default=None, help="seed of every decision (default: random, printed)")
    add("--orders", type=int, default=200, help="orders to place (default %(default)s)")
    add("--database-url", default="", help="default: a fresh SQLite file; postgresql://…/NAME creates NAME "
        "(its name must contain 'chaos'; it is dropped at the end unless --keep)")  # fmt: skip
    add("--concurrency", type=int, default=6, help="client threads (default %(default)s)")
    add("--keep", action="store_true", help="keep the data folder (logs, state) and the database")


def _database_name(url: str, seed: int) -> str:
    name = urlparse(url).path.lstrip("/") or f"topup_chaos_{seed}"
    if "chaos" not in name:
        _refuse(f"the database name {name!r} must contain 'chaos' (it is dropped and created)")
    return name


def _refuse(message: str) -> None:
    sys.stderr.write(f"topup chaos: {message}\n")
    raise SystemExit(2)


def replay_command(args: argparse.Namespace, seed: int) -> str:
    parts = ["topup chaos", f"--seed {seed}", f"--orders {args.orders}", f"--concurrency {args.concurrency}"]
    if args.database_url:
        parts.append(f"--database-url {args.database_url}")
    return " ".join(parts)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def log(text: str) -> None:
    sys.stderr.write(f"topup chaos: {text}\n")


def run(args: argparse.Namespace) -> None:
    from topup.chaos import platform, report, runner  # noqa: PLC0415 - httpx, psycopg: only here

    if not 1 <= args.orders <= MAX_ORDERS:
        _refuse(f"--orders must be between 1 and {MAX_ORDERS}")
    if not 1 <= args.concurrency <= 64:
        _refuse("--concurrency must be between 1 and 64")
    # SIGTERM ends the run like Ctrl-C does, through the `finally` that stops the platform's processes
    # (each in its own process group, so no terminal signal reaches them).
    signal.signal(signal.SIGTERM, _terminate)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    schedule = build(seed, args.orders)
    data_dir = Path(tempfile.mkdtemp(prefix=f"topup-chaos-{seed}-"))
    postgres = args.database_url.startswith("postgres")
    name = _database_name(args.database_url, seed) if postgres else ""
    db_url = platform.database_url(args.database_url, data_dir, name)
    log(f"seed {seed}, {args.orders} orders, {len(schedule.faults)} faults, data in {data_dir}")
    try:
        result = runner.execute(schedule, data_dir, db_url, args.concurrency, log)
    except platform.PlatformError as exc:
        log(f"{exc} (data kept in {data_dir})")
        raise SystemExit(2) from exc
    if not args.keep:
        if postgres:
            platform.drop_database(db_url)
        shutil.rmtree(data_dir, ignore_errors=True)
    sys.stdout.write(
        report.summary(result, replay_command(args, seed), data_dir if args.keep else None) + "\n"
    )
    if result.violations:
        raise SystemExit(1)
