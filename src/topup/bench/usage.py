"""`topup bench --usage`: rate data usage on hosted eSIM lines through `POST /api/v1/usage`.

Setup (not timed): buy `--lines` eSIMs with a bundle through the API (create, approve at the checkout, poll
until delivered) and build every batch body in advance, so the timed phase is only the posting. Then C tasks
post the batches, task t sending batches t, t+C, ... on its own group of lines (disjoint while L >= C, so
concurrent batches do not wait on each other's bundle locks). At the end the first batch answered 200 is
sent again: the server must answer it entirely as duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from topup.bench.driver import PAID_AT_CHECKOUT, POLL_BACKOFF, POLL_FIRST_S, POLL_MAX_S
from topup.bench.measure import Window
from topup.bench.peers import Json, Peer, json_object, session
from topup.bench.report import (
    add_counts,
    answered_all_duplicates,
    batch_sizes,
    build_usage_report,
    latest_delivery,
    partition_lines,
    random_usage_record,
)

ESIM_PLAN = "esim-30d-unlimited"
COUNTS = ("accepted", "duplicates", "refused_kb")
USAGE_REQUEST_TIMEOUT_S = 120.0


@dataclass(slots=True)
class _Posting:
    """What the timed phase saw: latency of every batch answered 200 and the server's summed counts."""

    batch_ms: list[float] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    first_ok: int | None = None  # index of the lowest batch answered 200
    started: float = 0.0
    ended: float = 0.0


async def run_usage(
    args: argparse.Namespace,
    key: str,
    *,
    run_tag: str,
    seed: int,
    allow_checkout: Callable[[str], bool],
    window: Window,
) -> dict[str, object]:
    """Buy the lines, post the usage (the CPU window covers only the posting), resend one batch; the report
    of `build_usage_report`, with the CPU per part per 1,000 accepted records (ms each = µs per record)."""
    url = args.url.rstrip("/")
    errors: Counter[str] = Counter()
    notes: list[str] = []
    async with session(args.concurrency, USAGE_REQUEST_TIMEOUT_S) as client:
        peer = Peer(client, errors)
        setup_started = time.perf_counter()
        orders = await _buy_lines(peer, args, url, run_tag, allow_checkout)
        iccids = [iccid for order in orders if isinstance(iccid := _iccid(order), str)]
        if not iccids:
            raise SystemExit(f"topup bench: no eSIM line was delivered ({dict(errors) or 'no error'})")
        if len(iccids) < args.lines:
            notes.append(f"only {len(iccids)} of {args.lines} eSIM lines were delivered")
        base = (latest_delivery(orders) or datetime.now(UTC)) + timedelta(seconds=1)
        bodies, sizes = _bodies(args, iccids, base, run_tag, seed)
        setup_s = time.perf_counter() - setup_started
        window.start()
        posting = await _post_all(peer, url, key, bodies=bodies, sizes=sizes, concurrency=args.concurrency)
        cpu = window.stop(posting.totals.get("accepted", 0) // 1000, unit="1,000 usage records")
        recheck: dict[str, object] = {}
        duplicates_ok = False
        if posting.first_ok is None:
            notes.append("no batch was answered 200: the duplicate check could not be made")
        else:
            first = posting.first_ok
            duplicates_ok = await _recheck(
                peer, url, key, body=bodies[first], size=sizes[first], recheck=recheck
            )
    if len(iccids) < args.concurrency:
        notes.append(f"{args.concurrency} tasks on {len(iccids)} lines: some tasks share lines (lock waits)")
    report = build_usage_report(
        records=sum(sizes),
        batch=args.batch,
        concurrency=args.concurrency,
        lines=len(iccids),
        batch_ms=posting.batch_ms,
        batches=len(sizes),
        wall_s=posting.ended - posting.started,
        totals=posting.totals,
        duplicates_ok=duplicates_ok,
        recheck=recheck,
        errors=errors,
        notes=notes,
        settings={"url": url, "plan": ESIM_PLAN, "seed": seed, "setup_s": round(setup_s, 3)},
    )
    report["cpu"] = cpu
    return report


def _iccid(order: Json) -> object:
    esim = order.get("esim")
    return esim.get("iccid") if isinstance(esim, dict) else None


async def _buy_lines(
    peer: Peer, args: argparse.Namespace, url: str, run_tag: str, allow_checkout: Callable[[str], bool]
) -> list[Json]:
    """The delivered eSIM orders (at most --lines); failures are counted in the peer's errors."""
    deadline = time.perf_counter() + args.timeout_s
    gate = asyncio.Semaphore(min(args.concurrency, 16))

    async def one(index: int) -> Json | None:
        async with gate:
            return await _buy_one(peer, url, f"bench-usage-{run_tag}-{index}", deadline, allow_checkout)

    bought = await asyncio.gather(*(one(i) for i in range(args.lines)))
    return [order for order in bought if order is not None]


async def _buy_one(
    peer: Peer, url: str, idempotency_key: str, deadline: float, allow_checkout: Callable[[str], bool]
) -> Json | None:
    body = {"plan_id": ESIM_PLAN, "payment_method": "card"}
    response = await peer.send(
        "esim_create", "POST", f"{url}/api/v1/esim/orders", json=body,
        headers={"Idempotency-Key": idempotency_key},
    )  # fmt: skip
    if response is None or response.status_code != 201:
        return None
    order = json_object(response)
    payment = order.get("payment")
    checkout_url = payment.get("checkout_url") if isinstance(payment, dict) else None
    order_id = order.get("id")
    if not isinstance(order_id, str) or not isinstance(checkout_url, str):
        peer.errors["esim_create no_checkout_url"] += 1
        return None
    if not allow_checkout(checkout_url):
        peer.errors["esim_approve remote_checkout_refused"] += 1
        return None
    response = await peer.send(
        "esim_approve", "POST", checkout_url, data={"action": "approve"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    if response is None or response.status_code != 200:
        return None
    if json_object(response).get("status") not in PAID_AT_CHECKOUT:  # a Checkout Session answers complete
        peer.errors["esim_approve declined"] += 1
        return None
    token = {"X-Order-Token": str(order.get("order_token") or "")}
    return await _poll_delivered(peer, f"{url}/api/v1/orders/{order_id}", token, deadline)


async def _poll_delivered(
    peer: Peer, order_url: str, headers: dict[str, str], deadline: float
) -> Json | None:
    pause = POLL_FIRST_S
    while True:
        response = await peer.send("esim_poll", "GET", order_url, headers=headers)
        if response is not None and response.status_code == 200:
            order = json_object(response)
            status = order.get("status")
            if status == "delivered":
                if isinstance(_iccid(order), str):
                    return order
                peer.errors["esim_poll no_iccid"] += 1
                return None
            if status in {"refunded", "expired", "cancelled", "delivery_failed"}:
                peer.errors[f"esim_order {status}"] += 1
                return None
        if time.perf_counter() + pause >= deadline:
            peer.errors["esim_order timeout"] += 1
            return None
        await asyncio.sleep(pause)
        pause = min(pause * POLL_BACKOFF, POLL_MAX_S)


def _bodies(
    args: argparse.Namespace, iccids: list[str], base: datetime, run_tag: str, seed: int
) -> tuple[list[bytes], list[int]]:
    """Every batch's JSON body, built before the clock starts; batch b uses the lines of task b mod C."""
    rng = random.Random(seed)
    groups = partition_lines(iccids, args.concurrency)
    sizes = batch_sizes(args.records, args.batch)
    bodies: list[bytes] = []
    n = 0
    for b, size in enumerate(sizes):
        lines = groups[b % args.concurrency]
        records = []
        for _ in range(size):
            records.append(random_usage_record(rng, f"bench-{run_tag}-{n}", lines, base))
            n += 1
        bodies.append(json.dumps({"records": records}, separators=(",", ":")).encode())
    return bodies, sizes


async def _post_all(
    peer: Peer, url: str, key: str, *, bodies: list[bytes], sizes: list[int], concurrency: int
) -> _Posting:
    posting = _Posting()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    ok: list[int] = []

    async def task(t: int) -> None:
        for b in range(t, len(bodies), concurrency):
            sent = time.perf_counter()
            response = await peer.send(
                "usage", "POST", f"{url}/api/v1/usage", data=bodies[b], headers=headers
            )
            if response is None or response.status_code != 200:
                continue
            posting.batch_ms.append((time.perf_counter() - sent) * 1000)
            answer = json_object(response)
            add_counts(posting.totals, answer, COUNTS)
            if answer.get("accepted") != sizes[b]:
                peer.errors["usage not_all_accepted"] += 1
            ok.append(b)

    posting.started = time.perf_counter()
    await asyncio.gather(*(task(t) for t in range(concurrency)))
    posting.ended = time.perf_counter()
    posting.first_ok = min(ok, default=None)
    return posting


async def _recheck(
    peer: Peer, url: str, key: str, *, body: bytes, size: int, recheck: dict[str, object]
) -> bool:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response = await peer.send("usage_resend", "POST", f"{url}/api/v1/usage", data=body, headers=headers)
    recheck["records"] = size
    if response is None or response.status_code != 200:
        recheck["status"] = None if response is None else response.status_code
        return False
    answer = json_object(response)
    recheck.update({name: answer.get(name) for name in ("accepted", "duplicates")})
    return answered_all_duplicates(answer, size)
