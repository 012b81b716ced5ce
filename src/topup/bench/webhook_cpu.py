"""The web's CPU per payment webhook, against a running `topup serve` (demo) with its payment simulator.

    python -m topup.bench.webhook_cpu --orders 200 [--data-dir DIR]

Creates card orders, approves each Checkout Session at the simulator and reports the web processes' CPU
(utime + stime from /proc, the gunicorn tree named in serve's pid file) from the first approval until the
simulator has nothing left to send (each delivery ends when the web has answered it): per order and per
webhook request. Then posts every `payment_intent.succeeded` again, signed afresh (the duplicate path),
and reports its CPU per request.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from topup.adapters.payments.signature import sign
from topup.bench.cpu import roots_from_pid_file, sample, ticks_per_second
from topup.serve import PID_FILE
from topup.settings import CONFIG

WAIT_S = 120.0
SETTLE_S = 2.0


def _web_ticks(pid_file: Path) -> int:
    ticks = sample({"web": roots_from_pid_file(pid_file).get("web", [])}).get("web")
    if ticks is None:
        raise SystemExit(f"no live web process in {pid_file}")
    return ticks


def _webhooks(sim: httpx.Client) -> dict[str, Any]:
    """The simulator's delivery counts once nothing is left to send."""
    deadline = time.monotonic() + WAIT_S
    while True:
        stats: dict[str, Any] = sim.get("/_sim/summary").json()["webhooks"]
        if stats["pending"] == 0:
            return stats
        if time.monotonic() > deadline:
            raise SystemExit(f"webhooks still pending after {WAIT_S:.0f} s: {stats}")
        time.sleep(0.2)


def _create(web: httpx.Client, index: int, tag: str) -> dict[str, Any]:
    body = {
        "plan_id": "proximus-credit-10",
        "msisdn": f"+3247{7_000_000 + index:07d}",
        "payment_method": "card",
    }
    answer = web.post("/api/v1/orders", json=body, headers={"Idempotency-Key": f"whcpu-{tag}-{index}"})
    if answer.status_code != 201:
        raise SystemExit(f"order {index}: {answer.status_code} {answer.text[:200]}")
    order: dict[str, Any] = answer.json()
    return order


def _paid(web: httpx.Client, order: dict[str, Any]) -> bool:
    headers = {"X-Order-Token": str(order.get("order_token") or "")}
    status = web.get(f"/api/v1/orders/{order['id']}", headers=headers).json().get("status")
    return status in {"paid", "delivering", "delivered"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--data-dir", type=Path, default=CONFIG.data_dir)
    args = parser.parse_args()
    pid_file = args.data_dir / PID_FILE
    hz = ticks_per_second()
    web = httpx.Client(base_url=f"http://{CONFIG.host}:{CONFIG.port}", timeout=30)
    sim = httpx.Client(
        base_url=CONFIG.payments_url,
        timeout=30,
        headers={"Authorization": f"Bearer {CONFIG.payments_api_key}"},
    )
    tag = str(time.time_ns())
    with ThreadPoolExecutor(args.concurrency) as pool:
        orders = list(pool.map(lambda i: _create(web, i, tag), range(args.orders)))
        before_stats, before = _webhooks(sim), _web_ticks(pid_file)
        urls = [str(o["payment"]["checkout_url"]) for o in orders]
        list(pool.map(lambda url: httpx.post(url, data={"action": "approve"}, timeout=30), urls))
        after_stats = _webhooks(sim)  # each delivery ends when the web has answered it: all applied
        time.sleep(SETTLE_S)  # a simulator that counts only queued deliveries as pending may still send
        after = _web_ticks(pid_file)
        if not all(pool.map(lambda o: _paid(web, o), orders)):
            raise SystemExit("some orders are not paid although every webhook was delivered")
        requests = after_stats["delivered"] + after_stats["failed_attempts"]
        requests -= before_stats["delivered"] + before_stats["failed_attempts"]
        cpu_ms = (after - before) * 1000 / hz
        report: dict[str, Any] = {
            "orders": args.orders, "webhook_requests": requests, "webhooks_per_order": requests / args.orders,
            "web_cpu_ms_per_order": round(cpu_ms / args.orders, 2),
            "web_cpu_ms_per_webhook": round(cpu_ms / max(requests, 1), 2),
        }  # fmt: skip

        events = sim.get("/_sim/events", params={"type": "payment_intent.succeeded"}).json()["data"]
        bodies = [json.dumps(e, separators=(",", ":")).encode() for e in events[-args.orders :]]
        secret = CONFIG.webhook_secrets[0]
        url = "/api/v1/payments/webhooks/stripe"

        def post(body: bytes) -> str:
            headers = {
                "Stripe-Signature": sign(body, secret, int(time.time())),
                "Content-Type": "application/json",
            }
            return str(web.post(url, content=body, headers=headers).json().get("outcome"))

        before = _web_ticks(pid_file)
        outcomes = list(pool.map(post, bodies))
        after = _web_ticks(pid_file)
    report["duplicates"] = {o: outcomes.count(o) for o in set(outcomes)}
    report["web_cpu_ms_per_duplicate"] = round((after - before) * 1000 / hz / max(len(bodies), 1), 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
