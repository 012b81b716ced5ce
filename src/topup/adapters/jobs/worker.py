"""The job worker: claims due jobs from the outbox table and runs them on a thread pool.

Claiming is one short transaction that leases a batch (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
IMMEDIATE write lock on SQLite), so several workers never run the same job; a worker that dies
(even `kill -9`) only delays its jobs until their lease runs out.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from types import FrameType

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q

from topup.clock import now
from topup.db.models import Job
from topup.services import delivery, maintenance, notifications, payments, retention
from topup.services.delivery import JobResult

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[[str, int], JobResult]] = {
    **notifications.HANDLERS,
    "deliver": delivery.deliver,
    "refund": delivery.refund,
    "apply_webhook": lambda subject, _attempt: JobResult(
        done=bool(payments.apply_stored_event(int(subject)))
    ),
}


def claim(batch: int, lease_s: float) -> list[tuple[str, str, str, int]]:
    """Lease up to `batch` due jobs; returns (id, kind, subject_id, attempt) with the attempt counted."""
    at = now()
    due = Q(status="queued", run_after__lte=at) & (Q(locked_until__isnull=True) | Q(locked_until__lt=at))
    with transaction.atomic():
        query = Job.objects.filter(due).order_by("run_after")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        ids = list(query.values_list("id", flat=True)[:batch])
        if not ids:
            return []
        Job.objects.filter(id__in=ids).update(
            locked_until=at + timedelta(seconds=lease_s), attempts=F("attempts") + 1
        )
        jobs = [(j.id, j.kind, j.subject_id, j.attempts) for j in Job.objects.filter(id__in=ids)]
        # Starting the claimed deliveries here saves each order a commit of its own.
        delivery.start_deliveries([subject for _, kind, subject, _ in jobs if kind == "deliver"])
        return jobs


def run_one(job_id: str, kind: str, subject_id: str, attempt: int) -> None:
    try:
        result = HANDLERS[kind](subject_id, attempt)
    except Exception as exc:
        log.exception("job %s failed", job_id, extra={"job_id": job_id})
        result = JobResult(done=False, retry_in_s=min(2.0 * 2 ** min(attempt - 1, 8), 300.0), note=repr(exc))
    finally:
        close_old_connections()
    at = now()
    if result.done:
        Job.objects.filter(id=job_id).update(
            status="done", finished_at=at, locked_until=None, last_error=result.note
        )
    else:
        Job.objects.filter(id=job_id).update(
            run_after=at + timedelta(seconds=result.retry_in_s),
            locked_until=None,
            last_error=result.note[:1000],
        )


class Worker:
    def __init__(self, threads: int, lease_s: float = 60.0, idle_sleep_s: float = 0.05) -> None:
        self.threads = threads
        self.lease_s = lease_s
        self.idle_sleep_s = idle_sleep_s
        self.stopping = threading.Event()
        self._in_flight: set[Future[None]] = set()

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> None:
        log.info("worker started with %d threads", self.threads)
        last_sweep = 0.0
        with ThreadPoolExecutor(self.threads, thread_name_prefix="job") as pool:
            while not self.stopping.is_set():
                if time.monotonic() - last_sweep > 5.0:
                    maintenance.expire_unpaid_orders()
                    maintenance.expire_bundles()
                    notifications.expiring_soon(now())
                    retention.sweep(now())
                    last_sweep = time.monotonic()
                self._in_flight = {f for f in self._in_flight if not f.done()}
                free = self.threads * 2 - len(self._in_flight)
                jobs = claim(free, self.lease_s) if free > 0 else []
                for job in jobs:
                    self._in_flight.add(pool.submit(run_one, *job))
                if not jobs:
                    self.stopping.wait(self.idle_sleep_s)
            log.info("worker stopping: waiting for %d jobs in flight", len(self._in_flight))
