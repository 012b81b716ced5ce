"""The job table's writers and staff's handle on it: adding jobs (every job is written by `add`, with its
once-per-(kind, subject) key in `job_key`) and waking the workers, marking claimed jobs done, dead or due
again (only while the claim's lease token is still theirs), listing jobs, and giving dead jobs another
round (`topup jobs ...`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import QuerySet

from topup import jobscope
from topup.clock import new_id, now
from topup.db import job_keys, partitions, wakeup
from topup.db.models import Job, JobKey

log = logging.getLogger(__name__)

DEAD = "dead"
NOTE_MAX = 1000  # the characters of a job's last error kept


_FIELDS = {field.name: field for field in Job._meta.concrete_fields}


def _update_leased(ids: Sequence[str], token: str, **values: object) -> int:
    """`Job.objects.filter(id__in=ids, status="queued", lease_token=token).update(**values)`: the jobs still
    queued under this lease token (a job another claim took over is not touched), as plain SQL because
    the ORM's building of this UPDATE cost the worker more CPU than the database spends on it (every job
    is marked so). Values are prepared by their fields, as `update()` prepares them (the note encrypted)."""
    if not ids:
        return 0
    quote = connection.ops.quote_name
    fields = [_FIELDS[name] for name in values]
    sets = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    marks = ", ".join(["%s"] * len(ids))
    # Only the model's own table and column names are written into it; every value is a parameter.
    table = quote(Job._meta.db_table)
    statement = f"UPDATE {table} SET {sets} WHERE id IN ({marks}) AND status = %s AND lease_token = %s"  # noqa: S608
    prepared = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values.values(), strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, [*prepared, *ids, "queued", token])
        return int(cursor.rowcount)


def _released(note: str) -> dict[str, object]:
    """What every mark writes: the lease given back and the note kept."""
    return {"locked_until": None, "lease_token": "", "last_error": note[:NOTE_MAX]}


def mark_done(ids: Sequence[str], token: str, *, at: datetime, note: str = "") -> int:
    """The claimed jobs are finished; how many were still ours."""
    return _update_leased(ids, token, status="done", finished_at=at, **_released(note))


def mark_dead(ids: Sequence[str], token: str, *, at: datetime, note: str) -> int:
    """The claimed jobs used their last attempt: dead until requeued; how many were still ours."""
    return _update_leased(ids, token, status=DEAD, finished_at=at, **_released(note))


def mark_again(ids: Sequence[str], token: str, *, run_after: datetime, note: str) -> int:
    """The claimed jobs are due again at `run_after` (their lease released); how many were still ours."""
    return _update_leased(ids, token, run_after=run_after, **_released(note))


def requeue(*, job_id: str | None = None, kind: str | None = None, all_dead: bool = False) -> int:
    """Queue dead jobs again with their attempts reset (one by id, all of a kind, or all); returns how many.

    A requeued delivery whose order is past its deadline goes straight to cancel-then-refund."""
    if not (job_id or kind or all_dead):
        return 0
    dead: QuerySet[Job] = Job.objects.filter(status=DEAD)
    if job_id:
        dead = dead.filter(id=job_id)
    if kind:
        dead = dead.filter(kind=kind)
    count = dead.update(
        status="queued", attempts=0, run_after=now(), locked_until=None, lease_token="", finished_at=None
    )
    if count:
        wakeup.notify(wakeup.JOBS, kind or "")
    log.warning("requeued %d dead job(s)", count, extra={"job_id": job_id or "", "kind": kind or ""})
    return count


def listing(*, dead_only: bool = False, limit: int = 200) -> list[dict[str, object]]:
    """The latest jobs (or only the dead ones), newest first, as rows for the command line."""
    query: QuerySet[Job] = Job.objects.all()
    if dead_only:
        query = query.filter(status=DEAD)
    fields = ("id", "kind", "subject_id", "status", "attempts", "run_after", "last_error")
    return list(query.order_by("-created_at").values(*fields)[:limit])


def add(kind: str, due: Mapping[str, datetime], *, at: datetime, skip_duplicates: bool = False) -> int:
    """Write one `kind` job per subject (`due`: subject -> when it may run), created `at`, in the caller's
    transaction (one of its own when there is none), each with its key in `job_key`; wake the workers at
    the commit. Returns how many were written: a (kind, subject) that ever had a job (and whose job is not
    past retention) raises IntegrityError, or with `skip_duplicates` is skipped."""
    if not due:
        return 0
    jobs = [
        Job(
            id=new_id("job"),
            kind=kind,
            subject_id=subject,
            run_after=due[subject],
            created_at=at,
            **jobscope.origin_of(subject),
        )
        for subject in sorted(due)  # one order for every writer: see job_keys.insert
    ]
    with transaction.atomic(savepoint=False):
        written = job_keys.insert(jobs, skip_duplicates=skip_duplicates)
    if written:
        wakeup.notify(wakeup.JOBS, kind)
    return len(written)


def add_one(
    kind: str,
    subject_id: str,
    *,
    at: datetime,
    run_after: datetime | None = None,
    skip_duplicate: bool = False,
) -> bool:
    """`add` for one subject, due at `run_after` (default `at`); whether it was written."""
    due = {subject_id: at if run_after is None else run_after}
    return add(kind, due, at=at, skip_duplicates=skip_duplicate) == 1


def enqueue_many(kind: str, subject_ids: Iterable[str], *, at: datetime, skip_queued: bool = False) -> int:
    """Write one `kind` job per subject, due now, in the caller's transaction, and wake the workers at its
    commit; `skip_queued` skips (kind, subject) pairs that already have a job instead of failing."""
    return add(kind, dict.fromkeys(subject_ids, at), at=at, skip_duplicates=skip_queued)


_PURGE_BATCH = 500


def purge_finished(before: datetime) -> int:
    """Delete the jobs done before `before` with their keys (their (kind, subject) may have a job again),
    in batches, each job with its key in one transaction; how many. Only where `job` is one table (SQLite):
    on PostgreSQL its months are dropped whole (db/job_months, the partition upkeep)."""
    if partitions.enabled():
        return 0
    purged = 0
    while True:
        with transaction.atomic():
            old = Job.objects.filter(status="done", finished_at__lt=before)
            rows = list(old.values_list("id", "kind", "subject_id")[:_PURGE_BATCH])
            if not rows:
                return purged
            ids = [row[0] for row in rows]
            JobKey.objects.filter(
                pk__in=[(kind, subject) for _, kind, subject in rows], job_id__in=ids
            ).delete()
            purged += Job.objects.filter(id__in=ids).delete()[0]
