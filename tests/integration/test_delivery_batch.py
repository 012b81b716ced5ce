"""The worker delivers a claim's `deliver` jobs as one batch: the carrier calls go out together, a call that
does not answer in time is "unknown" (asked about at the next attempt), and every answer is settled in ONE
transaction, fenced by the jobs' lease tokens. Queuing a job wakes the workers (LISTEN/NOTIFY)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction

from tests.integration.conftest import Carriers, run_jobs_until_idle
from topup import worker
from topup.clock import now
from topup.db import ledger, wakeup
from topup.db.models import Job, Order
from topup.services import delivery_batch, jobs, vouchers
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

BASE = ("base-credit-10", "+32486123450")
UNKNOWN_TO_BASE = ("base-credit-10", "+32485000001")  # a BASE number ported to Telenet: refused for good
PROXIMUS = ("proximus-credit-10", "+32470123456")


def paid(plan_msisdn: tuple[str, str], *, number: str = "") -> str:
    """A paid order with its `deliver` job queued (a voucher redeemed by SMS)."""
    plan, msisdn = plan_msisdn
    [(_serial, pin)] = vouchers.generate_batch(plan.split("-")[0], plan, 1)[1]
    order = vouchers.redeem(pin, msisdn=number or msisdn, channel="sms", caller_keys=["ip:192.0.2.1"])
    return str(order["id"])


@contextmanager
def counted_commits() -> Iterator[list[int]]:
    """How many transactions the block committed (atomic blocks, and writes made outside any)."""
    count = [0]
    original = connection._commit

    def commit() -> None:
        count[0] += 1
        original()

    def outside(execute: Callable[..., object], sql: str, *args: object) -> object:
        if not connection.in_atomic_block and sql.lstrip().split()[0].upper() in {
            "INSERT",
            "UPDATE",
            "DELETE",
        }:
            count[0] += 1
        return execute(sql, *args)

    connection._commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(outside):
            yield count
    finally:
        del connection._commit


def status(order_id: str) -> str:
    return Order.objects.get(id=order_id).status


@pytest.mark.usefixtures("seeded")
def test_a_batch_is_settled_in_one_transaction_and_a_slow_carrier_is_asked_again(
    carriers: Carriers, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = [paid(BASE, number=f"+3248612345{i}") for i in range(3)]
    refused = paid(UNKNOWN_TO_BASE)
    slow = paid(PROXIMUS)
    before = carriers.balance_minor("proximus", PROXIMUS[1])
    carriers.faults("proximus", latency_ms=6_000)  # answers long after the batch stopped waiting for it
    monkeypatch.setattr(delivery_batch, "call_timeout_s", lambda: 2.0)

    claimed = worker.claim(50, lease_s=30)
    assert sorted(job.kind for job in claimed) == ["deliver"] * 5
    with counted_commits() as commits:
        assert worker.run_deliveries(claimed)

    assert commits == [1]  # every answer, order, posting, follow-up job and job mark: one transaction
    assert [status(order_id) for order_id in fast] == ["delivered"] * 3
    assert status(refused) == "delivery_failed"
    assert Job.objects.filter(kind="refund", subject_id=refused, status="queued").exists()
    assert set(Job.objects.filter(kind="notify").values_list("subject_id", flat=True)) == {
        f"receipt:{order_id}" for order_id in fast
    }
    assert status(slow) == "delivering"  # unknown: not failed, not refunded
    job = Job.objects.get(kind="deliver", subject_id=slow)
    assert (job.status, job.attempts, job.last_error, job.lease_token) == ("queued", 1, "timeout", "")
    assert Job.objects.filter(kind="deliver", status="done").count() == 4
    assert all(total.balanced for total in ledger.trial_balance())

    carriers.faults("proximus", latency_ms=0)
    run_jobs_until_idle()  # the retry asks the carrier first: the late arrival counts, nothing twice

    assert status(slow) == "delivered"
    assert carriers.balance_minor("proximus", PROXIMUS[1]) == before + 1000
    assert status(refused) == "refunded"
    assert all(total.balanced for total in ledger.trial_balance())


@pytest.mark.usefixtures("seeded")
def test_a_job_whose_every_claim_died_is_buried_by_the_next_claim_which_leases_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exhausted, other = paid(BASE), paid(PROXIMUS)
    last_lease_ran_out = now() - timedelta(seconds=1)
    Job.objects.filter(kind="deliver", subject_id=exhausted).update(
        attempts=CONFIG.job_max_attempts, lease_token="a-dead-worker", locked_until=last_lease_ran_out
    )
    with caplog.at_level(logging.ERROR, logger="topup.worker"):
        claimed = worker.claim(50, lease_s=30)

    assert [(job.subject_id, job.attempt) for job in claimed] == [(other, 1)]
    dead = Job.objects.get(kind="deliver", subject_id=exhausted)
    assert (dead.status, dead.attempts, dead.lease_token) == (
        "dead",
        CONFIG.job_max_attempts,
        "a-dead-worker",
    )
    alerts = [r for r in caplog.records if getattr(r, "alert", None) == "job_dead"]
    assert [getattr(r, "job_id", None) for r in alerts] == [dead.id]


@pytest.mark.usefixtures("seeded")
def test_a_batch_whose_lease_ran_out_writes_nothing_and_the_new_holder_delivers_once(
    carriers: Carriers,
) -> None:
    order_id = paid(BASE)
    before = carriers.balance_minor("base", BASE[1])
    [first] = worker.claim(10, lease_s=30)  # worker A
    Job.objects.filter(id=first.id).update(locked_until=now() - timedelta(seconds=1))  # A's lease ran out
    [second] = worker.claim(10, lease_s=30)  # worker B takes the job over
    assert second.abandoned

    assert worker.run_deliveries([first]) is False  # A's call reached the carrier; its answer is not written
    assert status(order_id) == "delivering"
    assert worker.run_one(*second) is True  # B asks the carrier first: it was delivered

    assert status(order_id) == "delivered"
    assert carriers.balance_minor("base", BASE[1]) == before + 1000
    assert Job.objects.get(id=first.id).status == "done"


def test_queuing_a_job_wakes_a_listening_worker_at_commit() -> None:
    listener = wakeup.Listener(wakeup.JOBS, poll_s=0.01)
    try:
        assert listener.wait(0.05) == []  # connects (PostgreSQL) and hears nothing yet
        with transaction.atomic():
            jobs.enqueue_many("notify", ["receipt:ord_x", "receipt:ord_y"], at=now())
            Job.objects.create(
                id="job_one", kind="refund", subject_id="ord_z", run_after=now(), created_at=now()
            )
        heard = {
            payload for channel, payload in listener.wait(2.0) + listener.wait(0.2) if channel == wakeup.JOBS
        }
        assert heard == ({"notify", "refund"} if wakeup.is_postgres() else set())
    finally:
        listener.close()


def test_an_idle_worker_waits_until_the_next_job_or_lease_is_due_and_never_longer_than_a_second() -> None:
    at = now()
    assert worker._idle_wait_s() == worker.IDLE_WAIT_MAX_S  # nothing queued: look again in a second

    Job.objects.create(id="job_later", kind="refund", subject_id="o1", run_after=at + timedelta(minutes=5),
                       created_at=at)  # fmt: skip
    assert worker._idle_wait_s() == worker.IDLE_WAIT_MAX_S  # due in five minutes: still capped

    Job.objects.create(id="job_leased", kind="refund", subject_id="o2", run_after=at - timedelta(minutes=1),
                       locked_until=at + timedelta(seconds=0.5), lease_token="t", created_at=at)  # fmt: skip
    assert 0.0 < worker._idle_wait_s() <= 0.5  # due (and leased): found again when its lease runs out

    Job.objects.create(id="job_due", kind="refund", subject_id="o3", run_after=at, created_at=at)
    assert worker._idle_wait_s() == 0.0  # due now: no waiting


@pytest.mark.usefixtures("seeded")
def test_a_running_worker_delivers_paid_orders_and_stops_gracefully(carriers: Carriers) -> None:
    """The worker's loop: woken by the job's commit (PostgreSQL), batches the deliveries, stops gracefully."""
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    running = worker.Worker(threads=2, lease_s=30)
    thread = threading.Thread(target=running.run)  # it closes its threads' database connections at the end
    thread.start()
    try:
        orders = [paid(BASE, number=f"+3248612346{i}") for i in range(3)]
        deadline = time.monotonic() + 60
        while any(status(order_id) != "delivered" for order_id in orders) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        running.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert [status(order_id) for order_id in orders] == ["delivered"] * 3
    assert all(total.balanced for total in ledger.trial_balance())


@pytest.mark.usefixtures("seeded", "carriers")
def test_settling_each_alone_after_the_batch_failed_keeps_each_orders_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivered, refused = paid(BASE), paid(UNKNOWN_TO_BASE)
    Job.objects.filter(kind="deliver", subject_id=delivered).update(request_id="req-delivered")
    Job.objects.filter(kind="deliver", subject_id=refused).update(request_id="req-refused")

    def fails(*_args: object) -> bool:
        raise RuntimeError("the batch's transaction failed")

    monkeypatch.setattr(delivery_batch, "_settle", fails)
    assert worker.run_deliveries(worker.claim(50, lease_s=30))

    assert (status(delivered), status(refused)) == ("delivered", "delivery_failed")
    receipt = Job.objects.get(kind="notify", subject_id=f"receipt:{delivered}")
    refund = Job.objects.get(kind="refund", subject_id=refused)
    assert (receipt.request_id, refund.request_id) == ("req-delivered", "req-refused")
