"""Delivering a claimed batch of `deliver` jobs together: the carrier calls go out at once, the answers are
recorded in one transaction.

A first attempt at an external network whose gateway has async calls (`topup_async`) joins the batch; every
other delivery (a hosted network or a new eSIM, a retry that must first ask the carrier, an order past its
deadline, a gateway without async calls) runs alone as before (`services/delivery.deliver`). The batches'
calls share the process's one event loop (on its own thread); each call has its own time limit, and a call
that did not answer in time is UNKNOWN, as a timeout always is: the job's next attempt asks the carrier for
the status first.

The answers are then settled in ONE transaction: the jobs still leased to us are locked (a job whose lease
another worker took over is left to it: that worker asks the carrier), the orders move to delivered or
delivery_failed in bulk with their history rows, the ledger postings go through `ledger.post` per order,
receipts and refunds are queued with bulk inserts, and the jobs are marked done or rescheduled. Should that
transaction fail, each answer is settled on its own, as a single delivery would be.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, runtime_checkable

from django.db import connection, transaction
from django.db.models import Case, Value, When

from topup import jobscope, order_trail
from topup.clock import now
from topup.db import ledger
from topup.db.models import Job, Order
from topup.domain import ledger as postings
from topup.domain.catalogue import NetworkKind
from topup.domain.errors import Conflict
from topup.domain.money import Money
from topup.domain.orders import OrderStatus, check_transition
from topup.domain.quotes import Quote
from topup.ports import CarrierOutcome, CarrierResult
from topup.services import carrier_products, delivery, jobs, peers, promotions
from topup.services.delivery import JobResult
from topup.services.transitions import moved_many
from topup.settings import CONFIG

log = logging.getLogger(__name__)

DELIVERING, DELIVERED = OrderStatus.DELIVERING.value, OrderStatus.DELIVERED.value
FAILED = OrderStatus.DELIVERY_FAILED.value


class Claimed(NamedTuple):
    """A job as the worker claimed it (see topup.worker.claim)."""

    id: str
    kind: str
    subject_id: str
    attempt: int
    token: str
    abandoned: bool = False  # an earlier claim never finished it (its worker died, or its lease ran out)
    request_id: str = ""  # of the request (or job) that queued it: its log lines and calls carry it
    traceparent: str = ""  # the span that queued it (tracing on): the job's span is its child


@runtime_checkable
class AsyncCarrier(Protocol):
    """A carrier gateway whose writes can wait for the carrier without holding a thread."""

    async def topup_async(
        self, network_id: str, msisdn: str, amount: Money, reference: str
    ) -> CarrierResult: ...

    async def activate_bundle_async(
        self, network_id: str, msisdn: str, product_ref: str, price: Money, reference: str
    ) -> CarrierResult: ...

    async def aclose_async(self) -> None:
        """Close the async client (and its connections) of the running event loop."""


NOT_SENT = CarrierResult(CarrierOutcome.UNKNOWN, code="carrier_call_not_made")


@dataclass
class _Send:
    job: Claimed
    order: Order
    quote: Quote
    call: Callable[[], Coroutine[Any, Any, CarrierResult]] | None  # None: answered without a call
    result: CarrierResult = NOT_SENT
    origin: jobscope.Origin | None = None  # its job's request id and span, for the jobs its settling queues


def call_timeout_s() -> float:
    """How long a batch waits for one carrier call: past the HTTP client's own time limit, plus a margin."""
    return CONFIG.carrier_timeout_s + 1.0


def run(batch: Sequence[Claimed], alone: Callable[[Claimed], bool], finish: Finish) -> bool:
    """Deliver the batch's jobs: batchable ones together, the others one by one through `alone`, each
    finished by `finish` (the worker's marking of a job); False when a job's lease was lost on the way."""
    orders = {o.id: o for o in Order.objects.filter(id__in=[job.subject_id for job in batch])}
    sends: list[_Send] = []
    kept = True
    for job in batch:
        send = _prepare(job, orders.get(job.subject_id))
        if send is None:
            kept = alone(job) and kept
        else:
            sends.append(send)
    if not sends:
        return kept
    _call_all(sends)
    try:
        return _settle(sends, now()) and kept
    except Exception:
        log.exception("settling %d deliveries together failed: settling each alone", len(sends))
        for send in sends:
            try:  # its receipt or refund keeps its own order's request id and span, as in `_settle`
                with jobscope.queued_for({send.order.id: send.origin} if send.origin else {}):
                    result = delivery.settle(send.order, send.quote, send.job.attempt, send.result)
            except Exception as exc:
                log.exception("delivery %s failed", send.order.id, extra={"order_id": send.order.id})
                retry_in_s = delivery.backoff_s(send.job.attempt)
                result = JobResult(done=False, retry_in_s=retry_in_s, note=repr(exc))
            kept = finish(send.job, result) and kept
        return kept


class Finish(Protocol):
    def __call__(self, job: Claimed, result: JobResult, /) -> bool: ...


def _prepare(job: Claimed, order: Order | None) -> _Send | None:
    """The batch's call for this job, or None when the job must run alone (see the module's docstring)."""
    if order is None or order.status != DELIVERING or job.attempt > 1 or delivery.past_deadline(order):
        return None
    quote = Quote.from_dict(order.quote)
    if delivery.network_kind(order, quote) is NetworkKind.HOSTED:
        return None
    gateway = peers.current().carrier(order.network_id)
    if not isinstance(gateway, AsyncCarrier):
        return None
    try:
        product_ref = carrier_products.for_delivery(quote, peers.current().carrier_route(order.network_id))
    except Conflict as exc:  # the route has no product for this bundle: never send its price as credit
        return _Send(job, order, quote, None, CarrierResult(CarrierOutcome.REJECTED, code=exc.code))
    network, msisdn, price, reference = order.network_id, order.msisdn, quote.face_value, order.id
    if product_ref is None:
        return _Send(job, order, quote, lambda: gateway.topup_async(network, msisdn, price, reference))
    product = product_ref
    activate = gateway.activate_bundle_async
    return _Send(job, order, quote, lambda: activate(network, msisdn, product, price, reference))


class _CarrierLoop:
    """The process's one event loop for the batches' carrier calls, on a thread of its own: the carriers'
    async clients (one per loop) and their connections are shared by every pool thread's batches and kept
    between batches, until `close` (the worker's stop) closes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def run(self, calls: Coroutine[Any, Any, None]) -> None:
        """Run `calls` on the loop and wait for them (from any thread but the loop's own)."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="carrier-calls", daemon=True
                )
                self._thread.start()
            loop = self._loop
        asyncio.run_coroutine_threadsafe(calls, loop).result()

    def close(self) -> None:
        """Close the carriers' async clients on the loop, then stop the loop (started again when needed)."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(_close_clients(), loop).result(timeout=call_timeout_s())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=call_timeout_s())
            if not thread.is_alive():
                loop.close()


async def _close_clients() -> None:
    gateways = {id(g): g for g in peers.current().carriers.values()} if peers.installed() else {}
    for gateway in gateways.values():  # a gateway serving several routes is closed once
        if isinstance(gateway, AsyncCarrier):
            await gateway.aclose_async()


_carrier_loop = _CarrierLoop()


def close() -> None:
    """The worker stops: close the carriers' async clients and their connections."""
    _carrier_loop.close()


def _call_all(sends: list[_Send]) -> None:
    """Every call at once; what did not answer within its time limit (or raised) is UNKNOWN."""

    async def one(send: _Send) -> None:
        if send.call is None:
            return
        with jobscope.running(send.job):  # each call is a task of its own: the job's ids, its span
            order_trail.follow(send.order)  # the placing request's id and span, read with the order
            send.result = await _answer(send, send.call)
            send.origin = jobscope.origin()

    async def every() -> None:
        await asyncio.gather(*(one(send) for send in sends))

    _carrier_loop.run(every())


async def _answer(send: _Send, call: Callable[[], Coroutine[Any, Any, CarrierResult]]) -> CarrierResult:
    try:
        return await asyncio.wait_for(call(), call_timeout_s())
    except TimeoutError:
        return CarrierResult(CarrierOutcome.UNKNOWN, code="timeout")
    except Exception:
        log.exception("carrier call for %s failed", send.order.id, extra={"order_id": send.order.id})
        return CarrierResult(CarrierOutcome.UNKNOWN, code="carrier_call_failed")


def _settle(sends: list[_Send], at: datetime) -> bool:
    """All the answers in one transaction, for the jobs still leased to us (False: a lease was lost)."""
    # The receipts and refunds queued here keep each order's request id and span (one INSERT for all).
    origins = {s.order.id: s.origin for s in sends if s.origin is not None}
    with transaction.atomic(), jobscope.queued_for(origins):
        held = Job.objects.filter(id__in=[s.job.id for s in sends], status="queued")
        if connection.features.has_select_for_update:
            held = held.select_for_update()
        tokens = dict(held.values_list("id", "lease_token"))
        mine = [s for s in sends if tokens.get(s.job.id) == s.job.token]
        for lost in (s for s in sends if tokens.get(s.job.id) != s.job.token):
            log.warning("job %s lost its lease; nothing written", lost.job.id, extra={"job_id": lost.job.id})
        locked = Order.objects.filter(id__in=[s.order.id for s in mine], status=DELIVERING)
        if connection.features.has_select_for_update:
            locked = locked.select_for_update()
        delivering = {o.id: o for o in locked}
        ready = [s for s in mine if s.order.id in delivering]
        confirmed = [s for s in ready if s.result.outcome is CarrierOutcome.CONFIRMED]
        rejected = [s for s in ready if s.result.outcome is CarrierOutcome.REJECTED]
        _delivered([(delivering[s.order.id], s) for s in confirmed], at)
        _failed([(delivering[s.order.id], s) for s in rejected], at)
        # An order no longer delivering (settled by another path) needs nothing more: its job is done.
        settled = {s.job.id for s in mine if s.order.id not in delivering}
        settled |= {s.job.id for s in (*confirmed, *rejected)}
        _finish_jobs(mine, settled, at)
    if confirmed or rejected:
        log.info("delivered %d, failed %d of a batch of %d", len(confirmed), len(rejected), len(sends))
    return len(mine) == len(sends)


def _delivered(items: list[tuple[Order, _Send]], at: datetime) -> None:
    if not items:
        return
    check_transition(OrderStatus.DELIVERING, OrderStatus.DELIVERED)
    refs = [When(id=order.id, then=Value(send.result.carrier_ref or "")) for order, send in items]
    _move([order for order, _send in items], DELIVERED, at, carrier_ref=Case(*refs, default=Value("")))
    for order, send in items:
        promotions.at_delivery(order, send.quote, at)  # a free bundle, bonus credit, a free next purchase
    ledger.post_many([(o.id, postings.delivery_confirmed(o.id, send.quote)) for o, send in items], now=at)


def _failed(items: list[tuple[Order, _Send]], at: datetime) -> None:
    if not items:
        return
    check_transition(OrderStatus.DELIVERING, OrderStatus.DELIVERY_FAILED)
    codes = {order.id: send.result.code or "carrier_rejected" for order, send in items}
    by_id = Case(*(When(id=i, then=Value(code)) for i, code in codes.items()), default=Value(""))
    _move([order for order, _send in items], FAILED, at, codes=codes, failure_code=by_id)
    jobs.enqueue_many("refund", codes, at=at)
    for order, _send in items:
        log.warning("delivery failed: %s", codes[order.id], extra={"order_id": order.id})


def _move(
    orders: list[Order], new: str, at: datetime, *, codes: dict[str, str] | None = None, **fields: object
) -> None:
    """The orders (locked, all delivering) to `new` in one UPDATE, then `transitions.moved_many`."""
    ids = [order.id for order in orders]
    updated = Order.objects.filter(id__in=ids, status=DELIVERING).update(status=new, updated_at=at, **fields)
    if updated != len(ids):
        raise RuntimeError(f"{len(ids) - updated} of {len(ids)} locked orders were no longer delivering")
    for order in orders:
        order.status, order.updated_at = new, at
    moved_many(orders, OrderStatus.DELIVERING, OrderStatus(new), at=at, codes=codes)


def _finish_jobs(mine: list[_Send], settled: set[str], at: datetime) -> None:
    """Mark the settled jobs done; reschedule the others (or bury them when out of attempts): one UPDATE
    per outcome, through the worker's own marking (`jobs.mark_*`, fenced by the lease token)."""
    groups: dict[tuple[str, str, int, str], list[str]] = {}  # (outcome, token, attempt, note) -> jobs
    for send in mine:
        job, note = send.job, send.result.code or ""
        if job.id in settled:
            key = ("done", job.token, 0, "")
        elif job.attempt >= CONFIG.job_max_attempts:
            key = ("dead", job.token, 0, note)
            extra = {"job_id": job.id, "alert": "job_dead", "subject_id": send.order.id}
            log.error("alert=job_dead job %s deliver(%s): %s", job.id, send.order.id, note, extra=extra)
        else:
            key = ("again", job.token, job.attempt, note)
        groups.setdefault(key, []).append(job.id)
    for (outcome, token, attempt, note), ids in groups.items():
        if outcome == "done":
            jobs.mark_done(ids, token, at=at)
        elif outcome == "dead":
            jobs.mark_dead(ids, token, at=at, note=note)
        else:
            run_after = at + timedelta(seconds=delivery.backoff_s(attempt))
            jobs.mark_again(ids, token, run_after=run_after, note=note)
