"""Writing jobs with their once-per-(kind, subject) key (`job_key`), the only way jobs are inserted
(services/jobs.add). PostgreSQL: one statement per batch, the keys inserted in a CTE and the jobs only for
the keys that were new, so a job costs the hot path no extra round trip; SQLite (no INSERT in a CTE): the
keys, then the jobs whose key was new, in the caller's transaction.

Without `skip_duplicates` a taken key raises IntegrityError (as the old unique constraint on `job` did);
with it, it is skipped (`ON CONFLICT DO NOTHING`). A key another open transaction is inserting makes the
insert wait for that one's end (PostgreSQL), so two concurrent writers of one (kind, subject) keep one job.
Only our own table and column names are written into these statements; every value is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

from topup.db.models import Job, JobKey

_BATCH = 500  # at most 3 + 11 parameters a job: well under SQLite's 32,766 and PostgreSQL's 65,535
_FIELDS = list(Job._meta.concrete_fields)


def _keys_statement(count: int, *, skip_duplicates: bool) -> str:
    marks = ", ".join(["(%s, %s, %s)"] * count)
    conflict = " ON CONFLICT (kind, subject_id) DO NOTHING" if skip_duplicates else ""
    table = connection.ops.quote_name(JobKey._meta.db_table)
    return f"INSERT INTO {table} (kind, subject_id, job_id) VALUES {marks}{conflict} RETURNING job_id"  # noqa: S608


def _key_params(jobs: Sequence[Job]) -> list[Any]:
    return [value for job in jobs for value in (job.kind, job.subject_id, job.id)]


def _job_params(jobs: Sequence[Job]) -> list[Any]:
    """The jobs' values as Django's INSERT prepares them (the note encrypted)."""
    return [
        field.get_db_prep_save(field.pre_save(job, add=True), connection) for job in jobs for field in _FIELDS
    ]


def _insert_postgres(jobs: Sequence[Job], *, skip_duplicates: bool) -> list[str]:
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(field.column)) for field in _FIELDS)
    # Typed placeholders: a VALUES list in a SELECT would otherwise take untyped ones (NULLs) as text.
    row = ", ".join(f"%s::{field.db_type(connection)}" for field in _FIELDS)
    rows = ", ".join([f"({row})"] * len(jobs))
    statement = (
        f"WITH keys AS ({_keys_statement(len(jobs), skip_duplicates=skip_duplicates)}) "  # noqa: S608
        f"INSERT INTO {quote(Job._meta.db_table)} ({names}) SELECT * FROM (VALUES {rows}) AS v ({names}) "
        f"WHERE v.{quote('id')} IN (SELECT job_id FROM keys) RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*_key_params(jobs), *_job_params(jobs)])
        return [str(written[0]) for written in cursor.fetchall()]


def _insert_sqlite(jobs: Sequence[Job], *, skip_duplicates: bool) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(_keys_statement(len(jobs), skip_duplicates=skip_duplicates), _key_params(jobs))
        kept = {str(written[0]) for written in cursor.fetchall()}
    new = [job for job in jobs if job.id in kept]
    Job.objects.bulk_create(new)
    return [job.id for job in new]


def insert(jobs: Sequence[Job], *, skip_duplicates: bool) -> list[str]:
    """Insert the jobs whose (kind, subject) has no key yet, with their keys, in the caller's transaction
    (which the caller opens); the ids written. Sort the jobs by key first: two multi-row inserts that take
    the same keys in one order cannot deadlock."""
    written: list[str] = []
    write = _insert_postgres if connection.vendor == "postgresql" else _insert_sqlite
    for start in range(0, len(jobs), _BATCH):
        written += write(jobs[start : start + _BATCH], skip_duplicates=skip_duplicates)
    return written
