"""The job worker: claims due jobs from the outbox table and runs them on a thread pool.

Claiming is one short transaction that leases a batch (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
IMMEDIATE write lock on SQLite), so several workers never run the same job; a worker that dies
(even `kill -9`) only delays its jobs until their lease runs out. Each claim writes a fresh lease
token, and finishing or rescheduling a job applies only while that token is still the job's: a worker
whose lease ran out and was claimed again by another cannot touch it. A job that fails
TOPUP_JOB_MAX_ATTEMPTS times becomes `dead` (an ERROR line with `alert=job_dead`) until requeued.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from types import FrameType

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q

from topup.clock import now
from topup.db.models import Job
from topup.services import (
    attempts,
    autotopup_sweep,
    delivery,
    maintenance,
    notifications,
    partner_hooks,
    payments,
)
from topup.services.delivery import JobResult
from topup.settings import CONFIG

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[[str, int], JobResult]] = {
    **notifications.HANDLERS,
    **partner_hooks.HANDLERS,  # partners' status callbacks
    **autotopup_sweep.HANDLERS,  # auto top-up: activate, run, check a threshold, forget a card
    "deliver": delivery.deliver,
    "refund": delivery.refund,
    "refund_payment": delivery.refund_payment,
    "cancel_payment": attempts.cancel_abandoned,
    "apply_webhook": lambda subject, _attempt: JobResult(
        done=bool(payments.apply_stored_event(int(subject)))
    ),
}


ClaimedJob = tuple[str, str, str, int, str]  # id, kind, subject_id, attempt, lease token


def claim(batch: int, lease_s: float) -> list[ClaimedJob]:
    """Lease up to `batch` due jobs under a fresh lease token; the attempt is counted at the claim."""
    at = now()
    due = Q(status="queued", run_after__lte=at) & (Q(locked_until__isnull=True) | Q(locked_until__lt=at))
    token = secrets.token_hex(16)
    with transaction.atomic():
        _bury_exhausted(due, at)
        query = Job.objects.filter(due).order_by("run_after")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        ids = list(query.values_list("id", flat=True)[:batch])
        if not ids:
            return []
        Job.objects.filter(id__in=ids).update(
            locked_until=at + timedelta(seconds=lease_s), attempts=F("attempts") + 1, lease_token=token
        )
        jobs = [(j.id, j.kind, j.subject_id, j.attempts, token) for j in Job.objects.filter(id__in=ids)]
        # Starting the claimed deliveries here saves each order a commit of its own.
        delivery.start_deliveries([job[2] for job in jobs if job[1] == "deliver"])
        return jobs


def _bury_exhausted(due: Q, at: datetime) -> None:
    """Jobs whose every attempt was used without an answer (the worker died each time) become dead."""
    exhausted = list(
        Job.objects.filter(due, attempts__gte=CONFIG.job_max_attempts).values_list("id", "kind", "subject_id")
    )
    for job_id, kind, subject_id in exhausted:
        if Job.objects.filter(due, id=job_id).update(status="dead", locked_until=None, finished_at=at):
            _alert_dead(job_id, kind, subject_id, "attempts exhausted without an answer")


def _alert_dead(job_id: str, kind: str, subject_id: str, note: str) -> None:
    log.error(
        "alert=job_dead job %s %s(%s) gave up after %d attempts: %s",
        job_id, kind, subject_id, CONFIG.job_max_attempts, note,
        extra={"job_id": job_id, "alert": "job_dead", "kind": kind, "subject_id": subject_id},
    )  # fmt: skip


def run_one(job_id: str, kind: str, subject_id: str, attempt: int, token: str = "") -> bool:
    """Run one claimed job; False when its lease was lost (another worker owns it now: nothing written)."""
    try:
        result = HANDLERS[kind](subject_id, attempt)
    except Exception as exc:
        log.exception("job %s failed", job_id, extra={"job_id": job_id})
        result = JobResult(done=False, retry_in_s=min(2.0 * 2 ** min(attempt - 1, 8), 300.0), note=repr(exc))
    finally:
        close_old_connections()
    at = now()
    mine = Job.objects.filter(id=job_id, status="queued", lease_token=token)
    if result.done:
        updated = mine.update(
            status="done", finished_at=at, locked_until=None, lease_token="", last_error=result.note
        )
    elif attempt >= CONFIG.job_max_attempts:
        updated = mine.update(
            status="dead", finished_at=at, locked_until=None, lease_token="", last_error=result.note[:1000]
        )
        if updated:
            _alert_dead(job_id, kind, subject_id, result.note[:200])
    else:
        updated = mine.update(
            run_after=at + timedelta(seconds=result.retry_in_s),
            locked_until=None,
            lease_token="",
            last_error=result.note[:1000],
        )
    if not updated:
        log.warning("job %s lost its lease; nothing written", job_id, extra={"job_id": job_id})
    return bool(updated)


class Worker:
    def __init__(self, threads: int, lease_s: float = 60.0, idle_sleep_s: float = 0.05) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # holds the sweep lease
        self.threads = threads
        self.lease_s = lease_s
        self.idle_sleep_s = idle_sleep_s
        self.stopping = threading.Event()
        self._in_flight: set[Future[bool]] = set()

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
                if time.monotonic() - last_sweep > maintenance.SWEEP_INTERVAL_S:
                    maintenance.run_sweeps(self.name)
                    last_sweep = time.monotonic()
                self._in_flight = {f for f in self._in_flight if not f.done()}
                free = self.threads * 2 - len(self._in_flight)
                jobs = claim(free, self.lease_s) if free > 0 else []
                for job in jobs:
                    self._in_flight.add(pool.submit(run_one, *job))
                if not jobs:
                    self.stopping.wait(self.idle_sleep_s)
            log.info("worker stopping: waiting for %d jobs in flight", len(self._in_flight))
