"""`topup bench`: a benchmark that pushes paid top-ups end to end through a running Topup server.

`topup bench --usage` instead rates data usage on hosted eSIM lines (see `topup.bench.usage`): it buys
`--lines` eSIMs, posts `--records` usage records in batches of `--batch` from `--concurrency` tasks and
reports records/s and per-batch latency; its exit code is 1 when a resent batch is not all duplicates.

Orders are created, approved at the payment simulator's checkout and polled until delivered or refunded;
afterwards the ledger's trial balance and the peers' books are checked for double charges or credits.
The exit code is 0 whatever the speed, 1 when a duplicate or an unbalanced ledger was found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import time
from collections import Counter
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from topup.bench import balance, measure
from topup.bench.audit import Evidence, find_violations, intent_order_id
from topup.bench.cpu import format_cpu
from topup.bench.driver import Driver, Load, sampling_note
from topup.bench.peers import (
    Peer,
    carrier_topups,
    intents_one_by_one,
    line_balances,
    list_intents,
    plan_price,
    session,
    trial_balance,
)
from topup.bench.report import OrderResult, build_report, format_report, format_usage_report
from topup.bench.usage import run_usage

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
FIRST_LINE = 470_000_000  # +32 470 xxx xxx: Proximus range; numbers below 470_100_000 are left alone
LINE_SPAN = 1_000_000
REQUEST_TIMEOUT_S = 30.0
DEFAULT_CONCURRENCY = 32
DEFAULT_USAGE_CONCURRENCY = 4
MAX_USAGE_BATCH = 10_000  # the server's own limit per request
MAX_USAGE_LINES = 1_000
MAX_USAGE_RECORDS = 100_000_000
__all__ = ["add_arguments", "human_report", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from topup.settings import CONFIG  # noqa: PLC0415 - only the bench needs the settings at parse time

    add = parser.add_argument
    add("--url", default=CONFIG.public_url, help="base URL of the running server (default %(default)s)")
    add("--orders", type=int, default=200, help="number of top-ups to push (default %(default)s)")
    add(
        "--concurrency",
        type=int,
        default=None,
        help=f"client tasks (default {DEFAULT_CONCURRENCY}, with --usage {DEFAULT_USAGE_CONCURRENCY})",
    )
    add("--json", action="store_true", help="print exactly one JSON object on stdout")
    add("--admin-key", default=os.environ.get("TOPUP_ADMIN_KEY"), help="admin API key for the trial balance")
    add("--payments-url", default=CONFIG.payments_url, help="payment simulator (default %(default)s)")
    add("--carriers-url", default=CONFIG.carriers_url, help="carrier simulator (default %(default)s)")
    add("--carrier-api-key", default=CONFIG.carrier_api_key, help="carrier simulator key")
    add("--payments-api-key", default=CONFIG.payments_api_key, help="payment simulator secret key")
    add("--timeout-s", type=float, default=300.0, help="overall wait for all deliveries (default 300)")
    add("--plan", default="proximus-credit-10", help="plan of every order (default %(default)s)")
    add("--seed", type=int, default=None, help="seed of the line offset (default: random, reported)")
    add("--allow-remote", action="store_true", help="allow URLs whose host is not loopback")
    measure.add_arguments(parser)
    balance.add_arguments(parser)
    usage = parser.add_argument_group("usage rating (--usage)")
    add = usage.add_argument
    add("--usage", action="store_true", help="benchmark usage rating on hosted eSIM lines instead of top-ups")
    add("--records", type=int, default=200_000, help="usage records to post (default %(default)s)")
    add("--batch", type=int, default=5_000, help="records per POST /usage (default %(default)s)")
    add("--lines", type=int, default=20, help="eSIM lines to buy and spread usage over (default %(default)s)")
    add(
        "--usage-key",
        default=os.environ.get("TOPUP_USAGE_KEY"),
        help="API key with the usage:write scope (default TOPUP_USAGE_KEY, else --admin-key)",
    )


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK_HOSTS


def _refuse(message: str) -> NoReturn:
    """Stop before any load: exit status 2, as argparse does for a usage error (1 means a broken promise)."""
    sys.stderr.write(f"topup bench: {message}\n")
    raise SystemExit(2)


def resolve_concurrency(args: argparse.Namespace) -> int:
    """--concurrency as given, else the default of the mode."""
    if args.concurrency is not None:
        return int(args.concurrency)
    return DEFAULT_USAGE_CONCURRENCY if args.usage else DEFAULT_CONCURRENCY


def _check_arguments(args: argparse.Namespace) -> None:
    args.concurrency = resolve_concurrency(args)
    if args.usage:
        _check_usage_arguments(args)
    if args.balance:
        _check_balance_arguments(args)
    if not 1 <= args.orders <= LINE_SPAN - 100_000:
        _refuse(f"--orders must be between 1 and {LINE_SPAN - 100_000}")
    if not 1 <= args.concurrency <= 10_000:
        _refuse("--concurrency must be between 1 and 10000")
    if args.timeout_s <= 0:
        _refuse("--timeout-s must be positive")
    remote = [u for u in (args.url, args.payments_url, args.carriers_url) if not is_loopback(u)]
    if remote and not args.allow_remote:
        _refuse(f"refusing non-loopback {', '.join(remote)} (use --allow-remote)")


def _check_usage_arguments(args: argparse.Namespace) -> None:
    if not 1 <= args.records <= MAX_USAGE_RECORDS:
        _refuse(f"--records must be between 1 and {MAX_USAGE_RECORDS}")
    if not 1 <= args.batch <= MAX_USAGE_BATCH:
        _refuse(f"--batch must be between 1 and {MAX_USAGE_BATCH}")
    if not 1 <= args.lines <= MAX_USAGE_LINES:
        _refuse(f"--lines must be between 1 and {MAX_USAGE_LINES}")
    if not (args.usage_key or args.admin_key):
        _refuse(
            "--usage needs a key with the usage:write scope: --usage-key (TOPUP_USAGE_KEY) or --admin-key"
        )


def _check_balance_arguments(args: argparse.Namespace) -> None:
    if not 0 < args.rate <= 100_000 or not 0 < args.duration_s <= 3600:
        _refuse("--rate must be in (0, 100000] and --duration-s in (0, 3600]")
    if not 1 <= args.balance_lines <= LINE_SPAN - 100_000:
        _refuse(f"--balance-lines must be between 1 and {LINE_SPAN - 100_000}")
    if not (args.balance_key or args.admin_key):
        _refuse("--balance needs a key with balance:read: --balance-key (TOPUP_BALANCE_KEY) or --admin-key")


def _run_balance(args: argparse.Namespace, seed: int) -> None:
    offset = random.Random(seed).randrange(100_000, LINE_SPAN - args.balance_lines + 1)
    msisdns = [f"+32{FIRST_LINE + offset + i}" for i in range(args.balance_lines)]
    if not args.json:
        sys.stderr.write(f"topup bench --balance: {args.rate}/s for {args.duration_s} s against {args.url}\n")
    try:
        key = args.balance_key or args.admin_key
        report = asyncio.run(balance.run_balance(args, key, msisdns, measure.Window(args)))
    except balance.KeyRefused as exc:
        _refuse(str(exc))
    report["seed"] = seed
    sys.stdout.write((json.dumps(report) if args.json else balance.format_balance_report(report)) + "\n")


def _load(args: argparse.Namespace, seed: int) -> Load:
    rng = random.Random(seed)
    offset = rng.randrange(100_000, LINE_SPAN - args.orders + 1)
    return Load(
        url=args.url.rstrip("/"),
        plan_id=args.plan,
        orders=args.orders,
        concurrency=args.concurrency,
        timeout_s=args.timeout_s,
        msisdn_base=FIRST_LINE + offset,
        run_tag=secrets.token_hex(6),
    )


def run(args: argparse.Namespace) -> None:
    _check_arguments(args)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    if args.usage:
        _run_usage(args, seed)
        return
    if args.balance:
        _run_balance(args, seed)
        return
    load = _load(args, seed)
    if not args.json:
        sys.stderr.write(f"topup bench: {load.orders} orders, {load.concurrency} tasks against {load.url}\n")
    window = measure.Window(args)
    report = asyncio.run(_bench(args, load, window))
    topups_per_s = report["topups_per_s"]
    assert isinstance(topups_per_s, float)
    report["pgbench"] = measure.pgbench(args, topups_per_s)  # after the top-ups, never alongside
    report["settings"] = {
        "url": load.url,
        "plan": load.plan_id,
        "concurrency": load.concurrency,
        "seed": seed,
        "first_msisdn": load.msisdn(0),
    }
    sys.stdout.write((json.dumps(report) if args.json else human_report(report)) + "\n")
    if report["duplicates"] or report["ledger_balanced"] is False:
        raise SystemExit(1)


def human_report(report: dict[str, object]) -> str:
    """The text form of any mode's JSON report."""
    if report.get("mode") == "balance":
        return balance.format_balance_report(report)
    if report.get("mode") == "usage":
        return format_usage_report(report)
    cpu, pgbench = report["cpu"], report["pgbench"]
    assert isinstance(cpu, dict)
    assert isinstance(pgbench, dict)
    return "\n".join([format_report(report), *format_cpu(cpu), measure.format_pgbench(pgbench)])


def _run_usage(args: argparse.Namespace, seed: int) -> None:
    if not args.json:
        sys.stderr.write(
            f"topup bench --usage: {args.lines} eSIM lines, {args.records} records in batches of "
            f"{args.batch}, {args.concurrency} tasks against {args.url}\n"
        )
    report = asyncio.run(
        run_usage(
            args,
            args.usage_key or args.admin_key,
            run_tag=secrets.token_hex(6),
            seed=seed,
            allow_checkout=lambda u: args.allow_remote or is_loopback(u),
            window=measure.Window(args),
        )
    )
    sys.stdout.write((json.dumps(report) if args.json else format_usage_report(report)) + "\n")
    if not report["duplicates_ok"]:
        raise SystemExit(1)


async def _bench(args: argparse.Namespace, load: Load, window: measure.Window) -> dict[str, object]:
    errors: Counter[str] = Counter()
    async with session(load.concurrency, REQUEST_TIMEOUT_S) as client:
        peer = Peer(client, errors)
        face_value = await _face_value(peer, load)
        msisdns = [load.msisdn(i) for i in range(load.orders)]
        before = await line_balances(peer, args.carriers_url, args.carrier_api_key, msisdns, load.concurrency)
        window.start()
        results = await Driver(peer, load, lambda u: args.allow_remote or is_loopback(u)).run()
        run_end = time.perf_counter()
        cpu = window.stop(sum(r.outcome == "delivered" for r in results))
        notes: list[str] = [sampling_note()]
        balanced = await _ledger(peer, args, load.url, notes)
        evidence = await _evidence(peer, args, results, notes)
        after = await line_balances(peer, args.carriers_url, args.carrier_api_key, msisdns, load.concurrency)
    evidence = Evidence(evidence.intents, evidence.carrier_topups, before, after, face_value)
    if len(before) < len(msisdns) or len(after) < len(msisdns):
        notes.append("some line balances could not be read: those lines were not checked")
    report = build_report(
        results,
        run_end=run_end,
        errors=errors,
        ledger_balanced=balanced,
        violations=find_violations(results, evidence),
        notes=notes,
        audited={
            "payment_intents": len(evidence.intents),
            "carrier_records": len(evidence.carrier_topups),
            "lines": len(before.keys() & after.keys()),
        },
    )
    report["cpu"] = cpu
    return report


async def _face_value(peer: Peer, load: Load) -> int:
    response = await peer.send("plans", "GET", f"{load.url}/api/v1/plans")
    if response is None or response.status_code != 200:
        _refuse(f"cannot read {load.url}/api/v1/plans: is the server running?")
    try:
        plans = response.json()
    except ValueError:
        plans = None
    price = plan_price(plans, load.plan_id)
    if price is None:
        _refuse(f"no plan {load.plan_id!r} at {load.url}")
    return price


DEMO_ADMIN_KEY_FILE = "demo-admin-key"  # services.seed's (not imported: it needs Django's models loaded)


def local_demo_admin_key(url: str) -> tuple[str, Path] | None:
    """The demo's admin key and its file, when `url` is this checkout's demo (loopback, not production) and
    the seed wrote the key to TOPUP_DATA_DIR/demo-admin-key; else None."""
    from topup.settings import CONFIG  # noqa: PLC0415

    path = CONFIG.data_dir / DEMO_ADMIN_KEY_FILE
    if CONFIG.is_production or not is_loopback(url) or not path.is_file():
        return None
    key = path.read_text(encoding="ascii").strip()
    return (key, path) if key else None


async def _ledger(peer: Peer, args: argparse.Namespace, url: str, notes: list[str]) -> bool | None:
    admin_key = args.admin_key
    if not admin_key:
        demo = local_demo_admin_key(url)
        if demo is None:
            notes.append("no admin key (--admin-key or TOPUP_ADMIN_KEY): the trial balance was not checked")
            return None
        admin_key, path = demo
        notes.append(f"trial balance read with the local demo's admin key ({path})")
    balanced = await trial_balance(peer, url, admin_key)
    if balanced is None:
        notes.append("the trial balance could not be read (see errors)")
    return balanced


async def _evidence(
    peer: Peer, args: argparse.Namespace, results: list[OrderResult], notes: list[str]
) -> Evidence:
    """Payment intents of our orders (listed, else one by one) and the carrier's record of each order."""
    ours = {r.order_id for r in results if r.order_id}
    intents = await list_intents(peer, args.payments_url, args.payments_api_key)
    if intents is None:
        notes.append("payment intents could not be listed: fetched one by one (a second charge is invisible)")
        intents = await intents_one_by_one(
            peer, args.payments_url, args.payments_api_key, results, args.concurrency
        )
    ours_intents = [intent for intent in intents if intent_order_id(intent) in ours]
    topups = await carrier_topups(
        peer, args.carriers_url, args.carrier_api_key, sorted(ours), args.concurrency
    )
    return Evidence(ours_intents, topups)
