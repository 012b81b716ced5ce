"""What a job run carries for the logs and traces: the request id of the request (or job) that queued it
(a fresh one when none did: the sweeps' jobs), its job id, kind and subject bound to every line it writes
and to its calls to peers, and a span that is the child of the one that queued it. One routine line
says how long it ran (with TOPUP_ACCESS_LOG, as the access lines).

A batch of deliveries settles several orders in one transaction, queuing their receipts and refunds in one
INSERT: `queued_for` tells `origin_of` (read by `services.jobs.enqueue_many`) whose request and span each
order's new jobs come from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from topup import logcontext, tracing

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

log = logging.getLogger(__name__)

_SUBJECT_IDS = {"ord": "order_id", "pay": "payment_id", "ln": "line_id"}  # typed ids (domain/ids)
Origin = tuple[str, str]  # (request id, traceparent) of what queues a job
_origins: ContextVar[Mapping[str, Origin]] = ContextVar("topup_job_origins", default=MappingProxyType({}))


def origin() -> Origin:
    """The current request (or job) and span, as a job queued here would keep them."""
    return logcontext.request_id(), tracing.current_traceparent()


@contextmanager
def queued_for(by_order: Mapping[str, Origin]) -> Iterator[None]:
    """Jobs queued in the block about one of these orders (`ord_…`, `receipt:ord_…`) keep its origin."""
    token = _origins.set(by_order)
    try:
        yield
    finally:
        _origins.reset(token)


def origin_of(subject_id: str) -> dict[str, str]:
    """A new job's `request_id` and `traceparent` when `queued_for` knows its order, else {} (the defaults:
    the current request's)."""
    found = _origins.get().get(subject_id.rpartition(":")[2])
    return {"request_id": found[0], "traceparent": found[1]} if found else {}


class RunningJob(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def subject_id(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def request_id(self) -> str: ...
    @property
    def traceparent(self) -> str: ...


@contextmanager
def running(job: RunningJob) -> Iterator[None]:
    """Around one job run (in the thread or asyncio task that runs it)."""
    started = time.perf_counter()
    subject_id = job.subject_id.rpartition(":")[2]  # `receipt:ord_…` is about the order too
    prefix = subject_id.partition("_")[0]
    subject = {_SUBJECT_IDS[prefix]: subject_id} if prefix in _SUBJECT_IDS else {}
    request_id = job.request_id or logcontext.new_request_id()
    attributes: dict[str, AttributeValue] = {
        "topup.job_id": job.id, "topup.job_kind": job.kind, "topup.attempt": job.attempt,
        "topup.request_id": request_id,
    }  # fmt: skip
    with (
        logcontext.bound(request_id=request_id, job_id=job.id, **subject),
        tracing.job_span(f"job {job.kind}", job.traceparent, attributes),
    ):
        yield
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "job %s %s ran in %.1fms", job.kind, job.subject_id, elapsed_ms,
            extra={"kind": job.kind, "subject_id": job.subject_id, "attempt": job.attempt,
                   "ms": round(elapsed_ms, 1)},
        )  # fmt: skip
