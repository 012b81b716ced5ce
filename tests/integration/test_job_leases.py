"""Jobs end: a job that keeps failing becomes `dead` (alert, metric) and `topup jobs requeue` gives it another
round; completion is fenced by the lease a worker holds; the periodic sweeps run in one process at a time."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.db import close_old_connections

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_paid_orders_end import paid
from topup.cli import main
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


def run_due_now() -> int:
    """One claim-and-run round with every queued job due now (no waiting for backoff)."""
    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import Job  # noqa: PLC0415
    from topup.worker import claim, run_one  # noqa: PLC0415

    Job.objects.filter(status="queued").update(run_after=now() - timedelta(seconds=1))
    jobs = claim(50, lease_s=30)
    for job in jobs:
        run_one(*job)
    return len(jobs)


@pytest.mark.usefixtures("seeded", "payments_simulator")
def test_a_job_failing_every_attempt_dies_loudly_and_requeue_refunds_it(
    live_server: Any,
    carriers: Carriers,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from topup.db.models import Job, Order, Payment  # noqa: PLC0415

    monkeypatch.setattr("topup.worker.CONFIG", dataclasses.replace(CONFIG, job_max_attempts=3))
    client = httpx.Client(base_url=live_server.url, timeout=15)
    order_id = paid(client, "/api/v1/orders", "dead-1", plan_id="proximus-credit-10", msisdn="0470 66 55 44",
                    payment_method="card")  # fmt: skip
    carriers.faults("proximus", error_rate=1.0)  # the carrier answers "try again" to everything
    with caplog.at_level(logging.ERROR, logger="topup.worker"):
        for _ in range(3):
            run_due_now()
    job = Job.objects.get(kind="deliver", subject_id=order_id)
    assert (job.status, job.attempts) == ("dead", 3)
    assert run_due_now() == 0  # a dead job is not claimed again
    alerts = [r for r in caplog.records if getattr(r, "alert", None) == "job_dead"]
    assert len(alerts) == 1
    assert alerts[0].levelno == logging.ERROR
    assert "alert=job_dead" in alerts[0].getMessage()
    metrics = httpx.get(f"{live_server.url}/metrics").text
    assert "topup_jobs_dead 1" in metrics
    assert 'topup_jobs_dead_by_kind{kind="deliver"} 1' in metrics
    assert ended_in(order_id) == "delivering"

    # The carrier recovers, but the order is now past its deadline: a requeue cancels, then refunds.
    carriers.faults("proximus", error_rate=0.0)
    Order.objects.filter(id=order_id).update(delivery_deadline=Order.objects.get(id=order_id).created_at)
    main(["jobs", "list", "--dead"])
    main(["jobs", "requeue", "--kind", "deliver"])
    assert Job.objects.get(kind="deliver", subject_id=order_id).status == "queued"
    run_jobs_until_idle()
    assert Job.objects.get(kind="deliver", subject_id=order_id).status == "done"
    assert ended_in(order_id) == "refunded"
    assert Payment.objects.get(order_id=order_id).status == "refunded"
    main(["jobs", "requeue", "--all-dead"])  # nothing left to requeue


def ended_in(order_id: str) -> str:
    from topup.db.models import Order  # noqa: PLC0415

    return Order.objects.get(id=order_id).status


def _job(kind: str) -> str:
    from topup.clock import new_id, now  # noqa: PLC0415
    from topup.db.models import Job  # noqa: PLC0415

    job_id = new_id("job")
    Job.objects.create(id=job_id, kind=kind, subject_id="s1", run_after=now(), created_at=now())
    return job_id


@pytest.mark.parametrize("first_outcome", ["done", "retry"])
def test_a_worker_whose_lease_was_taken_over_cannot_finish_the_job(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch, first_outcome: str
) -> None:
    from topup import worker  # noqa: PLC0415
    from topup.db.models import Job  # noqa: PLC0415
    from topup.services.delivery import JobResult  # noqa: PLC0415

    outcomes = {"done": JobResult(done=True, note="first"), "retry": JobResult(done=False, retry_in_s=600)}
    runs: list[int] = []

    def handler(subject: str, attempt: int) -> JobResult:
        runs.append(attempt)
        return outcomes[first_outcome] if attempt == 1 else JobResult(done=True, note="second")

    monkeypatch.setitem(worker.HANDLERS, "probe", handler)
    job_id = _job("probe")
    [first] = worker.claim(10, lease_s=0.05)  # worker A, whose lease is about to run out
    time.sleep(0.1)
    [second] = worker.claim(10, lease_s=60)  # worker B takes the job over
    assert first[0] == second[0] == job_id
    assert first[4] != second[4]  # each claim has its own lease token

    assert worker.run_one(*first) is False  # A comes back late: nothing is written
    row = Job.objects.get(id=job_id)
    assert (row.status, row.lease_token, row.attempts) == ("queued", second[4], 2)
    assert row.locked_until is not None  # still B's lease

    assert worker.run_one(*second) is True
    row = Job.objects.get(id=job_id)
    assert (row.status, row.last_error, row.lease_token) == ("done", "second", "")
    assert runs == [1, 2]


def test_only_one_of_two_concurrent_sweepers_runs(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup.services import maintenance  # noqa: PLC0415

    ran: list[str] = []
    lock = threading.Lock()

    def counting(name: str) -> Callable[[], None]:
        def sweep() -> None:
            with lock:
                ran.append(name)

        return sweep

    barrier = threading.Barrier(2)
    results: dict[str, bool] = {}

    def sweeper(holder: str) -> None:
        try:
            barrier.wait()
            results[holder] = maintenance.run_sweeps(holder)
        finally:
            close_old_connections()

    monkeypatch.setattr(maintenance, "SWEEPS", [("probe", counting("probe"))])
    for _ in range(3):  # the first round races on creating the lease row, later rounds on renewing it
        ran.clear()
        threads = [threading.Thread(target=sweeper, args=(h,)) for h in ("worker-a", "worker-b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [False, True]
        assert ran == ["probe"]
    holder = next(h for h, won in results.items() if won)
    other = "worker-b" if holder == "worker-a" else "worker-a"
    assert maintenance.run_sweeps(holder) is True  # the holder renews its lease
    assert maintenance.run_sweeps(other) is False
    assert maintenance.hold_sweep_lease(holder, lease_s=-1)  # the holder stops renewing (lease ran out)
    assert maintenance.run_sweeps(other) is True  # another process takes over


def test_the_marks_write_what_the_orms_update_would_and_only_under_the_lease() -> None:
    """`jobs.mark_*` are plain SQL: the row read back through the ORM (the note decrypted, times in UTC)
    holds what `Job.objects.filter(...).update(...)` would have written; a stale token changes nothing."""
    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import Job  # noqa: PLC0415
    from topup.services import jobs  # noqa: PLC0415

    at = now().replace(microsecond=123456)
    made = [
        Job.objects.create(id=f"job_mark{i}", kind="notify", subject_id=f"receipt:ord_{i}", run_after=at,
                           created_at=at, attempts=1, lease_token="tok", locked_until=at)
        for i in range(4)
    ]  # fmt: skip
    ids = [job.id for job in made]
    assert jobs.mark_done(ids[:2], "other", at=at) == 0  # another claim's token
    assert jobs.mark_done(ids[:2], "tok", at=at, note="sent") == 2
    assert jobs.mark_dead([ids[2]], "tok", at=at, note="gave up: 500") == 1
    later = at + timedelta(seconds=30)
    assert jobs.mark_again([ids[3]], "tok", run_after=later, note="timeout") == 1
    assert jobs.mark_again([ids[3]], "tok", run_after=later, note="timeout") == 0  # its lease is gone
    rows = {job.id: job for job in Job.objects.filter(id__in=ids)}
    for done in ids[:2]:
        assert (rows[done].status, rows[done].finished_at, rows[done].last_error) == ("done", at, "sent")
        assert (rows[done].locked_until, rows[done].lease_token) == (None, "")
    assert (rows[ids[2]].status, rows[ids[2]].last_error, rows[ids[2]].finished_at) == (
        "dead",
        "gave up: 500",
        at,
    )
    again = rows[ids[3]]
    assert (again.status, again.run_after, again.locked_until, again.lease_token) == (
        "queued",
        later,
        None,
        "",
    )
    assert (again.last_error, again.finished_at) == ("timeout", None)
