"""One job per (kind, subject), kept by `job_key` now that `job` is partitioned by month on PostgreSQL: a
second job raises IntegrityError or is skipped (services/jobs.add), two connections adding the same pair at
once leave one job, the retention frees a pair only with its finished job (SQLite: row by row; PostgreSQL:
a month whose jobs all finished before the cutoff is dropped with its keys, one with a queued or dead job
stays), and the worker claims jobs from any month."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from topup.db import job_months, partitions
from topup.db.models import Job, JobKey
from topup.services import jobs
from topup.worker import claim

pytestmark = pytest.mark.django_db
POSTGRES_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no partitions")
MARCH, APRIL, MAY = (datetime(2024, month, 9, tzinfo=UTC) for month in (3, 4, 5))


def _keys() -> dict[tuple[str, str], str]:
    return {(key.kind, key.subject_id): key.job_id for key in JobKey.objects.all()}


def _jobs() -> dict[tuple[str, str], str]:
    return {(job.kind, job.subject_id): job.id for job in Job.objects.all()}


def test_a_second_job_for_the_same_subject_raises_and_the_first_stays() -> None:
    at = datetime.now(UTC)
    assert jobs.add_one("deliver", "ord_k1", at=at) is True
    with pytest.raises(IntegrityError), transaction.atomic():
        jobs.add_one("deliver", "ord_k1", at=at)
    assert jobs.add_one("refund", "ord_k1", at=at) is True  # another kind, another job
    assert _jobs() == _keys()
    assert set(_jobs()) == {("deliver", "ord_k1"), ("refund", "ord_k1")}


def test_skip_mode_writes_only_the_new_subjects_with_their_own_run_after() -> None:
    at = datetime.now(UTC)
    later = at + timedelta(hours=2)
    assert jobs.add("notify", {"receipt:ord_a": at}, at=at) == 1
    first = _jobs()[("notify", "receipt:ord_a")]
    written = jobs.add(
        "notify", {"receipt:ord_a": later, "receipt:ord_b": later}, at=at, skip_duplicates=True
    )
    assert written == 1
    assert _jobs() == _keys()
    assert _jobs()[("notify", "receipt:ord_a")] == first  # the first one untouched
    assert Job.objects.get(subject_id="receipt:ord_b").run_after == later
    assert jobs.enqueue_many("notify", ["receipt:ord_b", "receipt:ord_c"], at=at, skip_queued=True) == 1


def test_retention_frees_the_subject_of_a_finished_job_only() -> None:
    at = datetime.now(UTC)
    jobs.add("deliver", {"ord_old": at, "ord_dead": at, "ord_new": at}, at=at)
    Job.objects.filter(subject_id="ord_old").update(status="done", finished_at=at - timedelta(days=30))
    Job.objects.filter(subject_id="ord_dead").update(status="dead", finished_at=at - timedelta(days=30))
    Job.objects.filter(subject_id="ord_new").update(status="done", finished_at=at)

    purged = jobs.purge_finished(at - timedelta(days=14))

    if partitions.enabled():  # whole months instead: test_an_old_month_is_dropped_…
        assert purged == 0
        return
    assert purged == 1
    assert set(_keys()) == set(_jobs()) == {("deliver", "ord_dead"), ("deliver", "ord_new")}
    assert jobs.add_one("deliver", "ord_old", at=at) is True


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("skip", [True, False])
def test_two_connections_adding_the_same_subject_at_once_leave_one_job(skip: bool) -> None:
    """The first holds its transaction open after its insert; the second's insert waits for it, then is
    skipped (or raises): neither sees the other's uncommitted job, so only the key can tell them apart."""
    inserted = threading.Event()
    outcomes: list[str] = []

    def add(hold_s: float) -> None:
        try:
            with transaction.atomic():
                written = jobs.add_one("deliver", "ord_race", at=datetime.now(UTC), skip_duplicate=skip)
                inserted.set()
                time.sleep(hold_s)
            outcomes.append("written" if written else "skipped")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connection.close()

    first = threading.Thread(target=add, args=(0.5,))
    first.start()
    assert inserted.wait(10)
    second = threading.Thread(target=add, args=(0.0,))
    second.start()
    first.join()
    second.join()
    assert sorted(outcomes) == ["skipped" if skip else "refused", "written"]
    assert Job.objects.filter(subject_id="ord_race").count() == 1
    assert _keys() == _jobs()


@POSTGRES_ONLY
def test_jobs_land_in_their_month_and_the_worker_claims_them_from_any_month() -> None:
    partitions.ensure_months(MARCH, 1)
    jobs.add_one("noop_kind", "old", at=MARCH)
    jobs.add_one("noop_kind", "now", at=datetime.now(UTC))
    with connection.cursor() as cursor:
        cursor.execute("SELECT subject_id, tableoid::regclass::text FROM job WHERE kind = 'noop_kind'")
        where = dict(cursor.fetchall())
    assert where == {"old": "job_p202403", "now": partitions.partition_name("job", datetime.now(UTC))}
    claimed = {job[2] for job in claim(10, lease_s=30)}  # (id, kind, subject, attempt, token)
    assert claimed >= {"old", "now"}
    listed = {(p.name, p.state) for p in partitions.status() if p.table == "job"}
    assert {("job_p202403", "attached"), ("job_default", "default")} <= listed


def _finish(subject: str, status: str, at: datetime) -> None:
    Job.objects.filter(subject_id=subject).update(status=status, finished_at=at)


@POSTGRES_ONLY
def test_an_old_month_is_dropped_with_its_keys_and_one_with_a_queued_or_dead_job_stays() -> None:
    partitions.ensure_months(MARCH, 3)
    for subject, at in (("m1", MARCH), ("m2", MARCH), ("a1", APRIL), ("a2", APRIL), ("y1", MAY), ("y2", MAY)):
        jobs.add_one("deliver", subject, at=at)
    _finish("m1", "done", MARCH)
    _finish("m2", "done", APRIL)
    _finish("a1", "done", APRIL)
    _finish("a2", "dead", APRIL)  # April stays until it is requeued and done
    _finish("y1", "done", MAY)  # May keeps y2 queued
    at = datetime(2024, 6, 20, tzinfo=UTC)

    assert job_months.drop_finished(at, 14) == ["job_p202403"]

    attached = {p.name for p in partitions.status() if p.table == "job"}
    assert "job_p202403" not in attached
    assert {"job_p202404", "job_p202405"} <= attached
    assert set(_keys()) == set(_jobs()) == {("deliver", s) for s in ("a1", "a2", "y1", "y2")}
    assert jobs.add_one("deliver", "m1", at=at) is True  # freed, as today's row delete freed it
    assert job_months.drop_finished(at, 14) == []  # idempotent
    assert job_months.drop_finished(at, 0) == []  # 0: never


@POSTGRES_ONLY
def test_a_month_with_a_job_finished_after_the_cutoff_stays() -> None:
    partitions.ensure_months(MARCH, 0)
    jobs.add_one("deliver", "late", at=MARCH)
    _finish("late", "done", datetime(2024, 6, 10, tzinfo=UTC))
    assert job_months.drop_finished(datetime(2024, 6, 20, tzinfo=UTC), 14) == []
    assert job_months.drop_finished(datetime(2024, 6, 25, tzinfo=UTC), 14) == ["job_p202403"]


@POSTGRES_ONLY
def test_a_job_queued_into_the_month_after_the_first_check_undoes_the_drop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The re-check under the lock finds it: the month stays attached and its keys are back."""
    partitions.ensure_months(MARCH, 0)
    jobs.add_one("deliver", "done_one", at=MARCH)
    _finish("done_one", "done", MARCH)
    jobs.add_one("deliver", "came_late", at=MARCH)  # queued: as if written after the first check
    monkeypatch.setattr(job_months, "_month_done", lambda _name, _cutoff: True)

    assert job_months.drop_finished(datetime(2024, 6, 20, tzinfo=UTC), 14) == []

    assert "job_p202403" in {p.name for p in partitions.status() if p.table == "job"}
    assert set(_keys()) == set(_jobs()) == {("deliver", "done_one"), ("deliver", "came_late")}
