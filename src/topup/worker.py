"""The job worker: claims due jobs from the outbox table and runs them on a thread pool; a claim's
`deliver` jobs run together as one batch (services/delivery_batch), the other jobs one by one.

Claiming is one short transaction that leases a batch (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
IMMEDIATE write lock on SQLite), so several workers never run the same job; a worker that dies
(even `kill -9`) only delays its jobs until their lease runs out. Each claim writes a fresh lease
token, and finishing or rescheduling a job applies only while that token is still the job's: a worker
whose lease ran out and was claimed again by another cannot touch it. A job that fails
TOPUP_JOB_MAX_ATTEMPTS times becomes `dead` (an ERROR line with `alert=job_dead`) until requeued.

A database failover (connection lost, or the server read-only) does not stop the worker: it drops its
connection and claims again after a short pause; a job thread's failure is the job's failed attempt.

An idle worker waits on PostgreSQL's LISTEN/NOTIFY (`wakeup.JOBS`, sent in the transaction that queued the
job) until the next delayed job or lease end is due, at most IDLE_WAIT_MAX_S; on SQLite it polls briefly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from types import FrameType

from django.db import close_old_connections, connection, transaction
from django.db.models import F, Min, Q
from django.db.models.functions import Coalesce, Greatest

from topup import jobscope
from topup.clock import now
from topup.db import wakeup
from topup.db.failover import forget_connections, is_failover_error
from topup.db.models import Job
from topup.services import (
    attempts,
    autotopup_sweep,
    delivery,
    delivery_batch,
    jobs,
    maintenance,
    notifications,
    partner_hooks,
    payments,
)
from topup.services.delivery import JobResult
from topup.services.delivery_batch import Claimed
from topup.settings import CONFIG

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[..., JobResult]] = {  # (subject_id, attempt); notify: also abandoned=
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


ClaimedJob = Claimed  # id, kind, subject_id, attempt, lease token
IDLE_WAIT_MAX_S = 1.0  # the longest an idle worker waits without looking at the job table
FAILOVER_PAUSE_S = 0.2  # the first pause after a database error; doubled per error in a row
FAILOVER_PAUSE_MAX_S = 5.0


def claim(batch: int, lease_s: float) -> list[Claimed]:
    """Lease up to `batch` due jobs under a fresh lease token; the attempt is counted at the claim.

    One SELECT reads the due jobs with what the claim needs (locked on PostgreSQL, under the write lock on
    SQLite, so the attempts read are the ones the UPDATE adds to); a job among them whose every attempt was
    used without an answer (its worker died each time) becomes dead instead of being leased again."""
    at = now()
    due = Q(status="queued", run_after__lte=at) & (Q(locked_until__isnull=True) | Q(locked_until__lt=at))
    token = secrets.token_hex(16)
    with transaction.atomic():
        query = Job.objects.filter(due).order_by("run_after")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        fields = ("id", "kind", "subject_id", "attempts", "lease_token", "request_id", "traceparent")
        rows = list(query.values_list(*fields)[:batch])
        _bury_exhausted([row for row in rows if row[3] >= CONFIG.job_max_attempts], at)
        # A lease token left on a job: an earlier claim never finished it.
        claimed = [
            Claimed(job_id, kind, subject_id, attempts + 1, token, bool(previous), request_id, traceparent)
            for job_id, kind, subject_id, attempts, previous, request_id, traceparent in rows
            if attempts < CONFIG.job_max_attempts
        ]
        if not claimed:
            return []
        Job.objects.filter(id__in=[job.id for job in claimed]).update(
            locked_until=at + timedelta(seconds=lease_s), attempts=F("attempts") + 1, lease_token=token
        )
        # Starting the claimed deliveries here saves each order a commit of its own.
        delivery.start_deliveries([job.subject_id for job in claimed if job.kind == "deliver"])
        return claimed


def _bury_exhausted(exhausted: list[tuple[str, str, str, int, str, str, str]], at: datetime) -> None:
    """The claimed jobs (locked) whose every attempt was used without an answer become dead."""
    if not exhausted:
        return
    Job.objects.filter(id__in=[row[0] for row in exhausted]).update(
        status="dead", locked_until=None, finished_at=at
    )
    for job_id, kind, subject_id, *_rest in exhausted:
        _alert_dead(job_id, kind, subject_id, "attempts exhausted without an answer")


def _alert_dead(job_id: str, kind: str, subject_id: str, note: str) -> None:
    log.error(
        "alert=job_dead job %s %s(%s) gave up after %d attempts: %s",
        job_id, kind, subject_id, CONFIG.job_max_attempts, note,
        extra={"job_id": job_id, "alert": "job_dead", "kind": kind, "subject_id": subject_id},
    )  # fmt: skip


def run_one(  # noqa: PLR0917 - a claimed job's fields, spread as tests and callers pass them
    job_id: str,
    kind: str,
    subject_id: str,
    attempt: int,
    token: str = "",
    abandoned: bool = False,
    request_id: str = "",
    traceparent: str = "",
) -> bool:
    """Run one claimed job; False when its lease was lost (another worker owns it now: nothing written)."""
    job = Claimed(job_id, kind, subject_id, attempt, token, abandoned, request_id, traceparent)
    if kind == "deliver":
        return run_deliveries([job])
    return _run_alone(job)


def run_deliveries(deliveries: list[Claimed], alone: Callable[[Claimed], bool] | None = None) -> bool:
    """Run claimed `deliver` jobs as one batch (services/delivery_batch); those that cannot join it go to
    `alone` (default: run here, one after the other). False when a lease was lost."""
    try:
        return delivery_batch.run(deliveries, alone=alone or _run_alone, finish=_finish)
    finally:
        close_old_connections()


def _run_alone(job: Claimed) -> bool:
    with jobscope.running(job):
        return _run_handler(job)


def _run_handler(job: Claimed) -> bool:
    try:
        if job.kind == notifications.JOB_KIND:  # it must know whether an earlier run may have sent it
            result = HANDLERS[job.kind](job.subject_id, job.attempt, abandoned=job.abandoned)
        else:
            result = HANDLERS[job.kind](job.subject_id, job.attempt)
    except Exception as exc:
        log.exception("job %s failed", job.id, extra={"job_id": job.id})
        retry_in_s = min(2.0 * 2 ** min(job.attempt - 1, 8), 300.0)
        result = JobResult(done=False, retry_in_s=retry_in_s, note=repr(exc))
    finally:
        close_old_connections()
    return _finish(job, result)


def _finish(job: Claimed, result: JobResult) -> bool:
    """Mark the job done, dead or due again while its lease token is still ours, with the outcome the job
    records (`JobResult.record`) in the same transaction."""
    if result.record is None:
        updated = _mark(job, result)
    else:
        with transaction.atomic():
            updated = _mark(job, result)
            if updated:
                result.record()
    if updated and not result.done and job.attempt >= CONFIG.job_max_attempts:
        _alert_dead(job.id, job.kind, job.subject_id, result.note[:200])
    if not updated:
        log.warning("job %s lost its lease; nothing written", job.id, extra={"job_id": job.id})
    return bool(updated)


def _mark(job: Claimed, result: JobResult) -> int:
    at = now()
    if result.done:
        return jobs.mark_done([job.id], job.token, at=at, note=result.note)
    if job.attempt >= CONFIG.job_max_attempts:
        return jobs.mark_dead([job.id], job.token, at=at, note=result.note)
    run_after = at + timedelta(seconds=result.retry_in_s)
    return jobs.mark_again([job.id], job.token, run_after=run_after, note=result.note)


class Worker:
    def __init__(self, threads: int, lease_s: float = 60.0, idle_sleep_s: float = 0.05) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # holds the sweep lease
        self.threads = threads
        self.lease_s = lease_s
        self.idle_sleep_s = idle_sleep_s  # SQLite's poll; PostgreSQL wakes the worker by LISTEN/NOTIFY
        self.stopping = threading.Event()
        self._in_flight: set[Future[object]] = set()
        self._lock = threading.Lock()  # _in_flight: batches hand their lone jobs to the pool too

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
        outage = 0  # database errors in a row (a failover under way)
        listener = wakeup.Listener(wakeup.JOBS, poll_s=self.idle_sleep_s)
        try:
            with ThreadPoolExecutor(self.threads, thread_name_prefix="job") as pool:
                while not self.stopping.is_set():
                    try:
                        if time.monotonic() - last_sweep > maintenance.SWEEP_INTERVAL_S:
                            maintenance.run_sweeps(self.name)
                            last_sweep = time.monotonic()
                        if not self._claim_and_submit(pool):
                            listener.wait(_idle_wait_s())
                        outage = 0
                    except Exception as exc:
                        if not is_failover_error(exc):
                            raise
                        outage += 1
                        self._wait_out_failover(exc, outage)
                log.info("worker stopping: waiting for %d tasks in flight", len(self._in_flight))
                self._close_connections(pool)
        finally:
            listener.close()
            delivery_batch.close()
            connection.close()

    def _wait_out_failover(self, exc: BaseException, outage: int) -> None:
        """The database went away or became read-only (a failover): drop the connection and look again
        after a short, growing pause. Nothing claimed was lost: a claim that did not commit leased nothing,
        and jobs leased by a claim whose answer was lost are due again when their lease runs out (their
        token fences the first run out)."""
        pause_s = min(FAILOVER_PAUSE_S * 2 ** min(outage - 1, 5), FAILOVER_PAUSE_MAX_S)
        log.warning("worker: database unavailable (%s); connecting again in %.1f s", exc, pause_s)
        forget_connections()
        self.stopping.wait(pause_s)

    def _close_connections(self, pool: ThreadPoolExecutor) -> None:
        """Each pool thread closes its database connection once its work is done: one task per thread
        (the barrier keeps a thread from taking two), queued behind the jobs in flight."""
        barrier = threading.Barrier(self.threads)

        def close() -> None:
            connection.close()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=self.lease_s)

        for _ in range(self.threads):
            pool.submit(close)

    def _claim_and_submit(self, pool: ThreadPoolExecutor) -> bool:
        """Claim what the pool has room for: False when nothing was claimed (the worker may go idle)."""
        with self._lock:
            self._in_flight = {f for f in self._in_flight if not f.done()}
            in_flight = set(self._in_flight)
        free = self.threads * 2 - len(in_flight)
        if free <= 0:  # every thread busy: wait for one to finish, not for a notification
            wait(in_flight, timeout=1.0, return_when=FIRST_COMPLETED)
            return True
        claimed = claim(free, self.lease_s)
        deliveries = [job for job in claimed if job.kind == "deliver"]
        if deliveries:  # one task, one thread: the batch's carrier calls wait together on its event loop
            self._submit(pool, run_deliveries, deliveries, self._alone_on(pool))
        for job in claimed:
            if job.kind != "deliver":
                self._submit(pool, run_one, *job)
        return bool(claimed)

    def _submit(self, pool: ThreadPoolExecutor, task: Callable[..., object], *args: object) -> None:
        future = pool.submit(task, *args)
        with self._lock:
            self._in_flight.add(future)

    def _alone_on(self, pool: ThreadPoolExecutor) -> Callable[[Claimed], bool]:
        """A batch's lone deliveries (a retry asking the carrier first, a hosted line, ...) get a thread each,
        so that their blocking calls do not queue behind one another."""

        def alone(job: Claimed) -> bool:
            try:
                self._submit(pool, _run_alone, job)
            except RuntimeError:  # the pool stopped taking work (graceful stop): run it here
                return _run_alone(job)
            return True

        return alone


def _idle_wait_s() -> float:
    """Until the next delayed job is due, capped at IDLE_WAIT_MAX_S: a missed notification or a lease that
    ran out is found at the next look anyway."""
    at = now()
    # A job leased to a worker (this one's in flight too) is due again only when its lease runs out.
    due_at = Greatest("run_after", Coalesce("locked_until", "run_after"))
    due: datetime | None = Job.objects.filter(status="queued").aggregate(first=Min(due_at))["first"]
    if due is None:
        return IDLE_WAIT_MAX_S
    return min(max((due - at).total_seconds(), 0.0), IDLE_WAIT_MAX_S)
