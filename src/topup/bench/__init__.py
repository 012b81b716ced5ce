"""`topup bench`: a benchmark that pushes paid top-ups end to end through a running Topup server.

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
from typing import NoReturn
from urllib.parse import urlsplit

from topup.bench.audit import Evidence, find_violations, intent_order_id
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
from topup.bench.report import OrderResult, build_report, format_report

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
FIRST_LINE = 470_000_000  # +32 470 xxx xxx: Proximus range; numbers below 470_100_000 are left alone
LINE_SPAN = 1_000_000
REQUEST_TIMEOUT_S = 30.0
__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from topup.settings import CONFIG  # noqa: PLC0415 - only the bench needs the settings at parse time

    add = parser.add_argument
    add("--url", default=CONFIG.public_url, help="base URL of the running server (default %(default)s)")
    add("--orders", type=int, default=200, help="number of top-ups to push (default %(default)s)")
    add("--concurrency", type=int, default=32, help="concurrent client tasks (default %(default)s)")
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


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK_HOSTS


def _refuse(message: str) -> NoReturn:
    """Stop before any load: exit status 2, as argparse does for a usage error (1 means a broken promise)."""
    sys.stderr.write(f"topup bench: {message}\n")
    raise SystemExit(2)


def _check_arguments(args: argparse.Namespace) -> None:
    if not 1 <= args.orders <= LINE_SPAN - 100_000:
        _refuse(f"--orders must be between 1 and {LINE_SPAN - 100_000}")
    if not 1 <= args.concurrency <= 10_000:
        _refuse("--concurrency must be between 1 and 10000")
    if args.timeout_s <= 0:
        _refuse("--timeout-s must be positive")
    remote = [u for u in (args.url, args.payments_url, args.carriers_url) if not is_loopback(u)]
    if remote and not args.allow_remote:
        _refuse(f"refusing non-loopback {', '.join(remote)} (use --allow-remote)")


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
    load = _load(args, seed)
    if not args.json:
        sys.stderr.write(f"topup bench: {load.orders} orders, {load.concurrency} tasks against {load.url}\n")
    report = asyncio.run(_bench(args, load))
    report["settings"] = {
        "url": load.url,
        "plan": load.plan_id,
        "concurrency": load.concurrency,
        "seed": seed,
        "first_msisdn": load.msisdn(0),
    }
    sys.stdout.write((json.dumps(report) if args.json else format_report(report)) + "\n")
    if report["duplicates"] or report["ledger_balanced"] is False:
        raise SystemExit(1)


async def _bench(args: argparse.Namespace, load: Load) -> dict[str, object]:
    errors: Counter[str] = Counter()
    async with session(load.concurrency, REQUEST_TIMEOUT_S) as client:
        peer = Peer(client, errors)
        face_value = await _face_value(peer, load)
        msisdns = [load.msisdn(i) for i in range(load.orders)]
        before = await line_balances(peer, args.carriers_url, args.carrier_api_key, msisdns, load.concurrency)
        results = await Driver(peer, load, lambda u: args.allow_remote or is_loopback(u)).run()
        run_end = time.perf_counter()
        notes: list[str] = [sampling_note()]
        balanced = await _ledger(peer, args, load.url, notes)
        evidence = await _evidence(peer, args, results, notes)
        after = await line_balances(peer, args.carriers_url, args.carrier_api_key, msisdns, load.concurrency)
    evidence = Evidence(evidence.intents, evidence.carrier_topups, before, after, face_value)
    if len(before) < len(msisdns) or len(after) < len(msisdns):
        notes.append("some line balances could not be read: those lines were not checked")
    return build_report(
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


async def _ledger(peer: Peer, args: argparse.Namespace, url: str, notes: list[str]) -> bool | None:
    if not args.admin_key:
        notes.append("no admin key (--admin-key or TOPUP_ADMIN_KEY): the trial balance was not checked")
        return None
    balanced = await trial_balance(peer, url, args.admin_key)
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
