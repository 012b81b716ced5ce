"""What a job run carries for the logs and traces: the request id of the request (or job) that queued it
(a fresh one when none did: the sweeps' jobs), its job id, kind and subject bound to every line it writes
and to its calls to peers, and a span that is the child of the one that queued it. One routine line
says how long it ran (with TOPUP_ACCESS_LOG, as the access lines).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from topup import logcontext, tracing

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

log = logging.getLogger(__name__)

_SUBJECT_IDS = {"ord": "order_id", "pay": "payment_id", "ln": "line_id"}  # typed ids (domain/ids)


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
