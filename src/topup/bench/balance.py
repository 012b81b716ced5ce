"""`topup bench --balance`: balance checks (`GET /api/v1/lines/{msisdn}/balance`) at a target rate.

The schedule is open-loop: request i is due at start + i/rate and is sent then whether or not earlier ones
were answered, and its latency runs from when it was due, not from when the client got round to sending it.
So a server that stalls is charged for every request that queued behind the stall (no coordinated
omission); `send_lag_max_ms` says how late the client itself was, so a client too slow to keep the
schedule shows up instead of hiding as server latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp

from topup.bench.cpu import format_cpu
from topup.bench.measure import Window
from topup.bench.report import percentile

START_DELAY_S = 0.2  # the first request is due a little after the schedule is built
MAX_CONNECTIONS = 512  # beyond this, requests wait for a connection (and that wait counts as latency)


class KeyRefused(Exception):
    """The key does not open the balance endpoint: the run would measure only refusals."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("balance checks (--balance)")
    add = group.add_argument
    add("--balance", action="store_true", help="benchmark balance checks at --rate instead of top-ups")
    add("--rate", type=float, default=1000.0, help="balance requests per second (default %(default)s)")
    add("--duration-s", type=float, default=10.0, help="how long to keep the rate (default %(default)s)")
    add("--balance-lines", type=int, default=100, help="distinct lines asked about (default %(default)s)")
    add(
        "--balance-key",
        default=os.environ.get("TOPUP_BALANCE_KEY"),
        help="API key with balance:read (default TOPUP_BALANCE_KEY, else --admin-key)",
    )


@dataclass(slots=True)
class Outcome:
    """What the schedule did: per answered-200 latency, and lateness of the client's sends."""

    latencies_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    ended: float = 0.0


def due_times(rate: float, duration_s: float, start: float) -> list[float]:
    """When each request is due: evenly spaced at 1/rate from `start`, rate x duration of them."""
    count = int(rate * duration_s)
    return [start + i / rate for i in range(count)]


async def open_loop(
    send: Callable[[int], Awaitable[str]],
    due: Sequence[float],
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """Fire send(i) at due[i] without waiting for earlier answers; `send` returns "200" or an error name."""
    outcome = Outcome(started=due[0] if due else clock())

    async def one(i: int) -> None:
        outcome.send_lag_ms.append((clock() - due[i]) * 1000)
        status = await send(i)
        outcome.statuses[status] += 1
        if status == "200":
            outcome.latencies_ms.append((clock() - due[i]) * 1000)

    tasks = []
    for i, at in enumerate(due):
        wait = at - clock()
        if wait > 0:
            await sleep(wait)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    outcome.ended = clock()
    return outcome


def build_balance_report(
    outcome: Outcome, *, rate: float, duration_s: float, settings: Mapping[str, object] | None = None
) -> dict[str, object]:
    """Achieved rate is answered-200 requests over the time from the first due instant to the last answer."""
    wall_s = max(outcome.ended - outcome.started, 0.0)
    ok = len(outcome.latencies_ms)
    sent = sum(outcome.statuses.values())

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "mode": "balance",
        "target_rate": rate,
        "duration_s": duration_s,
        "sent": sent,
        "ok": ok,
        "errors": {k: v for k, v in sorted(outcome.statuses.items()) if k != "200"},
        "wall_s": round(wall_s, 3),
        "achieved_rate": round(ok / wall_s, 1) if wall_s > 0 else 0.0,
        "p50_ms": rounded(percentile(outcome.latencies_ms, 50)),
        "p99_ms": rounded(percentile(outcome.latencies_ms, 99)),
        "max_ms": rounded(max(outcome.latencies_ms, default=None)),
        "send_lag_max_ms": rounded(max(outcome.send_lag_ms, default=None)),
        "settings": dict(settings or {}),
    }


def format_balance_report(report: Mapping[str, object]) -> str:
    def ms(value: object) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    cpu = report.get("cpu")
    return "\n".join(
        [
            f"balance checks: target {report['target_rate']}/s for {report['duration_s']} s, "
            f"sent {report['sent']}, answered 200 {report['ok']}",
            f"achieved {report['achieved_rate']}/s over {report['wall_s']} s",
            f"latency from due time: p50 {ms(report['p50_ms'])}, p99 {ms(report['p99_ms'])}, "
            f"max {ms(report['max_ms'])}",
            f"client send lag max {ms(report['send_lag_max_ms'])} (large: the client could not keep up)",
            f"errors: {report['errors'] or 'none'}",
            *(format_cpu(cpu) if isinstance(cpu, Mapping) else []),
        ]
    )


async def run_balance(
    args: argparse.Namespace, key: str, msisdns: Sequence[str], window: Window
) -> dict[str, object]:
    """Warm up with a few requests, then run the open-loop schedule inside the CPU window."""
    headers = {"Authorization": f"Bearer {key}"}
    url = args.url.rstrip("/")
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def send(i: int) -> str:
            target = f"{url}/api/v1/lines/{msisdns[i % len(msisdns)]}/balance"
            try:
                async with client.get(target, headers=headers) as response:
                    await response.read()
                    return str(response.status)
            except (TimeoutError, aiohttp.ClientError) as exc:
                return type(exc).__name__

        warm = [await send(i) for i in range(min(len(msisdns), 20))]  # not measured: first connections
        if {"401", "403"} & set(warm):
            raise KeyRefused(f"the server answered {warm[0]} to the balance key")
        due = due_times(args.rate, args.duration_s, time.perf_counter() + START_DELAY_S)
        window.start()
        outcome = await open_loop(send, due)
        cpu = window.stop(len(outcome.latencies_ms), unit="balance check answered 200")
    settings = {"url": url, "lines": len(msisdns), "first_msisdn": msisdns[0] if msisdns else None}
    report = build_balance_report(outcome, rate=args.rate, duration_s=args.duration_s, settings=settings)
    report["cpu"] = cpu
    return report
