"""The failover test's load: orders placed and paid at a steady rate through HAProxy by a retrying client.

Each order is one task started on a fixed schedule (`rate_per_s`): POST /api/v1/orders with its own
Idempotency-Key, sent again with the same key after a connection error, a timeout, a 502/503/504 (honouring
Retry-After) or a 409 idempotency_in_progress, until it is answered or `give_up_s` passed; then the payment
simulator's checkout approves it.
Every attempt is recorded (when, what, answer) so that the caller can tell how long writes were refused and
how many requests failed and were retried.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

RETRIED_STATUSES = frozenset({502, 503, 504})
# 409 with this code: the first attempt with the key holds its claim (it may still be running, or died with a
# database that went away); a retry waits for its answer, or takes the claim over once it is stale (30 s).
IN_PROGRESS = "idempotency_in_progress"
PAID_AT_CHECKOUT = frozenset({"succeeded", "complete"})
REQUEST_TIMEOUT_S = 10.0
BACKOFF_S = 0.5
MAX_PAUSE_S = 2.0


@dataclass(slots=True)
class Attempt:
    at_s: float  # answered (or failed) at, seconds since the load started
    step: str  # "create" | "approve"
    answer: str  # "201", "503", "ClientConnectorError", ...


@dataclass(slots=True)
class PlacedOrder:
    index: int
    msisdn: str
    key: str
    order_id: str | None = None
    created_at_s: float | None = None  # the 2xx that acknowledged the order
    approved: bool | None = None  # None: the checkout was never answered
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def failed_attempts(self) -> int:
        return sum(not a.answer.startswith("2") for a in self.attempts)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    url: str  # the web through HAProxy, e.g. http://10.77.0.20:8080
    plan_id: str
    rate_per_s: float
    duration_s: float
    first_msisdn: int  # national number of the first order's line
    run_tag: str
    give_up_s: float = 60.0


class Load:
    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.orders: list[PlacedOrder] = []
        self.started = 0.0
        self.unexpected: Counter[str] = Counter()  # answers that are not retried and not 2xx

    def now_s(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> list[PlacedOrder]:
        """Start one order every 1/rate s for `duration_s`, then wait for every placement to finish."""
        plan = self.plan
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as client:
            self.started = time.monotonic()
            tasks = []
            index = 0
            while (due := index / plan.rate_per_s) < plan.duration_s:
                await asyncio.sleep(max(0.0, due - self.now_s()))
                key = f"failover-{plan.run_tag}-{index}"
                order = PlacedOrder(index, f"+32{plan.first_msisdn + index}", key)
                self.orders.append(order)
                tasks.append(asyncio.create_task(self._place(client, order)))
                index += 1
            await asyncio.gather(*tasks)
        return self.orders

    async def _place(self, client: aiohttp.ClientSession, order: PlacedOrder) -> None:
        body = {"plan_id": self.plan.plan_id, "msisdn": order.msisdn, "payment_method": "card"}
        headers = {"Idempotency-Key": order.key}
        url = f"{self.plan.url}/api/v1/orders"
        answer = await self._send(client, order, "create", url, body=body, headers=headers)
        if answer is None:
            return
        order.order_id, order.created_at_s = str(answer.get("id") or ""), order.attempts[-1].at_s
        payment = answer.get("payment")
        checkout = payment.get("checkout_url") if isinstance(payment, dict) else None
        if not isinstance(checkout, str):
            self.unexpected["create without checkout_url"] += 1
            return
        accept = {"Accept": "application/json"}
        approved = await self._send(client, order, "approve", checkout, body=None, headers=accept)
        order.approved = None if approved is None else approved.get("status") in PAID_AT_CHECKOUT

    async def _send(
        self,
        client: aiohttp.ClientSession,
        order: PlacedOrder,
        step: str,
        url: str,
        *,
        body: dict[str, str] | None,
        headers: dict[str, str],
    ) -> dict[str, object] | None:
        """The JSON answer of a 2xx, sending again what may be sent again; None when it never came."""
        give_up = self.now_s() + self.plan.give_up_s
        form = {"action": "approve"} if body is None else None
        while True:
            pause = BACKOFF_S
            try:
                async with client.post(url, json=body, data=form, headers=headers) as raw:
                    status, answer = raw.status, _json(await raw.read())
                    pause = min(MAX_PAUSE_S, _seconds(raw.headers.get("Retry-After")))
                order.attempts.append(Attempt(self.now_s(), step, str(status)))
                if 200 <= status < 300 and isinstance(answer, dict):
                    return answer
                if status not in RETRIED_STATUSES and _code(answer) != IN_PROGRESS:
                    self.unexpected[f"{step} {status}"] += 1
                    return None
            except (TimeoutError, aiohttp.ClientError) as exc:
                order.attempts.append(Attempt(self.now_s(), step, type(exc).__name__))
            if self.now_s() + pause > give_up:
                self.unexpected[f"{step} gave up"] += 1
                return None
            await asyncio.sleep(pause)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _code(answer: object) -> object:
    error = answer.get("error") if isinstance(answer, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def _seconds(retry_after: str | None) -> float:
    try:
        return max(0.1, float(retry_after or BACKOFF_S))
    except ValueError:
        return BACKOFF_S
