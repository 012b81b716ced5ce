"""The load of `topup bench`: C client tasks push orders through create, checkout approve and the wait for
the pushed status (bench/status_stream).

Each task takes the next order from one shared list, so the run is bounded by `--orders`; every wait
stops at the overall deadline (`--timeout-s`), after which unfinished orders count as timeouts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass

from topup.bench import status_stream
from topup.bench.peers import Peer, json_object
from topup.bench.report import PAID_OR_LATER, TERMINAL, OrderResult

PAID_AT_CHECKOUT = {"succeeded", "complete"}  # a PaymentIntent's, a card Checkout Session's
# Polling pauses (bench/usage polls the usage import): first look after 100 ms, then x1.5 up to 500 ms.
POLL_FIRST_S = 0.1
POLL_MAX_S = 0.5
POLL_BACKOFF = 1.5


def sampling_note() -> str:
    """The report's note on how the paid/delivered/end_to_end latencies are measured."""
    return status_stream.note()


@dataclass(frozen=True, slots=True)
class Load:
    url: str
    plan_id: str
    orders: int
    concurrency: int
    timeout_s: float
    msisdn_base: int  # national number of the first line, e.g. 470_123_456
    run_tag: str  # makes Idempotency-Keys unique per run

    def msisdn(self, index: int) -> str:
        return f"+32{self.msisdn_base + index}"


def _ms(since: float, until: float) -> float:
    return (until - since) * 1000


class Driver:
    def __init__(self, peer: Peer, load: Load, allow_checkout: Callable[[str], bool]) -> None:
        self._peer = peer
        self._load = load
        self._deadline = 0.0
        self._allow_checkout = allow_checkout

    async def run(self) -> list[OrderResult]:
        load = self._load
        results = [OrderResult(i, load.msisdn(i)) for i in range(load.orders)]
        queue = iter(results)  # shared by all tasks; next() never awaits, so no two take the same order
        self._deadline = time.perf_counter() + load.timeout_s

        async def client_task() -> None:
            for result in queue:
                if time.perf_counter() >= self._deadline:
                    return
                await self._one(result)

        await asyncio.gather(*(client_task() for _ in range(load.concurrency)))
        return results

    async def _one(self, r: OrderResult) -> None:
        r.outcome = "error"
        r.started_at = time.perf_counter()
        if not await self._create(r):
            return
        approve_at = time.perf_counter()
        if not await self._approve(r):
            return
        await self._wait(r, approve_at)

    async def _create(self, r: OrderResult) -> bool:
        body = {"plan_id": self._load.plan_id, "msisdn": r.msisdn, "payment_method": "card"}
        headers = {"Idempotency-Key": f"bench-{self._load.run_tag}-{r.index}"}
        url = f"{self._load.url}/api/v1/orders"
        response = await self._peer.send("create", "POST", url, json=body, headers=headers)
        if response is None or response.status_code != 201:
            return False
        assert r.started_at is not None
        r.create_ms = _ms(r.started_at, time.perf_counter())
        order = json_object(response)
        payment = order.get("payment")
        checkout_url = payment.get("checkout_url") if isinstance(payment, dict) else None
        order_id, status = order.get("id"), order.get("status")
        if not isinstance(order_id, str) or not isinstance(checkout_url, str):
            self._peer.errors["create no_checkout_url"] += 1
            return False
        r.order_id, r.checkout_url = order_id, checkout_url
        r.order_token = str(order.get("order_token") or "")
        r.status = status if isinstance(status, str) else None
        if not self._allow_checkout(checkout_url):
            self._peer.errors["approve remote_checkout_refused"] += 1
            return False
        return True

    async def _approve(self, r: OrderResult) -> bool:
        assert r.checkout_url is not None
        started = time.perf_counter()
        response = await self._peer.send(
            "approve",
            "POST",
            r.checkout_url,
            data={"action": "approve"},
            headers={"Accept": "application/json"},
        )
        if response is None or response.status_code != 200:
            return False
        r.approve_ms = _ms(started, time.perf_counter())
        if json_object(response).get("status") not in PAID_AT_CHECKOUT:
            r.outcome = "declined"  # the simulator's decline rate; the order waits for its payment TTL
            return False
        return True

    async def _wait(self, r: OrderResult, approve_at: float) -> None:
        """Until the order ends, each status as the platform pushes it (the order's event stream)."""
        assert r.order_id is not None
        url = f"{self._load.url}/api/v1/orders/{r.order_id}"
        changes = status_stream.statuses(
            self._peer, url, r.order_token, r.status or "", deadline=self._deadline
        )
        async with aclosing(changes):  # its open stream is closed when the order ends
            async for status, now in changes:
                r.status = status
                if r.status in PAID_OR_LATER and r.paid_ms is None:
                    r.paid_ms = _ms(approve_at, now)
                if r.status in TERMINAL:
                    self._finish(r, approve_at, now)
                    return
        r.outcome = "timeout"

    @staticmethod
    def _finish(r: OrderResult, approve_at: float, now: float) -> None:
        assert r.status is not None
        assert r.started_at is not None
        r.outcome, r.finished_at = r.status, now
        if r.status == "delivered":
            r.delivered_ms = _ms(approve_at, now)
            r.end_to_end_ms = _ms(r.started_at, now)
