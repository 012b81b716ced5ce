"""Asynchronous, signed webhook delivery with retries, as a payment provider does it.

Events wait in an asyncio queue drained by a bounded pool of senders sharing one aiohttp session.
A failed attempt is re-queued after an exponential backoff (0.2 s doubling, capped at 30 s) and
retried for as long as the server runs; each attempt is signed afresh so that late retries still
fall inside the receiver's timestamp tolerance. A duplicate is a second, independent delivery of
the same body (same event id).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from topup.adapters.payments.signature import sign
from topup.simulators.payments.errors import Json

log = logging.getLogger("topup.simulators.payments.webhooks")


@dataclass(frozen=True, slots=True)
class Delivery:
    event_id: str
    body: bytes
    attempt: int = 0


class WebhookDispatcher:
    """Queue events with `publish`; `start` and `close` run inside the server's event loop (one endpoint)."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        concurrency: int = 32,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url  # an endpoint's update may move it
        self._secret = secret
        self._concurrency = concurrency
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._tokens = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        self._sending = 0  # taken from the queue, not yet answered
        self.delivered = 0
        self.failed_attempts = 0
        self.duplicates = 0

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def start(self) -> None:
        """Open the session and the senders (inside the running event loop)."""
        if not self.enabled or self._session is not None:
            return
        connector = aiohttp.TCPConnector(limit=self._concurrency)
        timeout = aiohttp.ClientTimeout(total=self._timeout_s)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]

    async def close(self) -> None:
        for handle in self._retries.values():
            handle.cancel()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self.pending:
            log.warning("stopping with %d webhook deliveries undelivered", self.pending)

    @property
    def pending(self) -> int:
        return self._queue.qsize() + len(self._retries) + self._sending

    def publish(self, event: Json, copies: int = 1, delay_s: float = 0.0) -> None:
        """Queue `copies` deliveries of the same serialized event (2 simulates a duplicate), the first
        after `delay_s` (a held-back event that a later one may overtake)."""
        if not self.enabled:
            return
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        self.duplicates += copies - 1
        for copy in range(copies):
            delivery = Delivery(str(event["id"]), body)
            if copy == 0 and delay_s > 0:
                self._later(delay_s, delivery)
            else:
                self._queue.put_nowait(delivery)

    def _later(self, delay_s: float, delivery: Delivery) -> None:
        token = next(self._tokens)
        loop = asyncio.get_running_loop()
        self._retries[token] = loop.call_later(delay_s, self._requeue, token, delivery)

    def stats(self) -> Json:
        return {
            "enabled": self.enabled,
            "pending": self.pending,
            "delivered": self.delivered,
            "failed_attempts": self.failed_attempts,
            "duplicates_sent": self.duplicates,
        }

    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            self._sending += 1
            try:
                reason = await self._send(delivery)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a sender must survive anything and keep the event
                log.exception("unexpected error delivering webhook %s", delivery.event_id)
                reason = type(exc).__name__
            finally:
                self._sending -= 1
                self._queue.task_done()
            if reason is None:
                self.delivered += 1
            else:
                self._schedule_retry(delivery, reason)

    async def _send(self, delivery: Delivery) -> str | None:
        """POST one delivery; None on a 2xx answer, else why it failed."""
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": sign(delivery.body, self._secret, int(self._clock())),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) topup-simulator",
        }
        async with self._session.post(self.url, data=delivery.body, headers=headers) as response:
            await response.read()
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"

    def _schedule_retry(self, delivery: Delivery, reason: str) -> None:
        self.failed_attempts += 1
        delay_s = min(self._max_backoff_s, self._initial_backoff_s * 2 ** min(delivery.attempt, 32))
        log.warning(
            "webhook %s attempt %d failed (%s); retrying in %.1f s",
            delivery.event_id,
            delivery.attempt + 1,
            reason,
            delay_s,
            extra={"event_id": delivery.event_id},
        )
        self._later(delay_s, Delivery(delivery.event_id, delivery.body, delivery.attempt + 1))

    def _requeue(self, token: int, delivery: Delivery) -> None:
        self._retries.pop(token, None)
        self._queue.put_nowait(delivery)
