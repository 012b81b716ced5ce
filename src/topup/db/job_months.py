"""Retention of the month-partitioned `job` table on PostgreSQL: a month whose jobs all finished (done, none
queued or dead) before the jobs' retention cutoff is detached and dropped, and its jobs' keys in `job_key`
deleted in the same transaction, so that those (kind, subject) pairs may have a job again, exactly as when
today's purge deleted finished jobs row by row (services/jobs.purge_finished, which SQLite still uses).

Jobs are not archived: a finished job's only use was to run once, its effects are in the orders, payments
and ledger. The slow part of the check (a scan for a job finished after the cutoff) runs before any lock;
under the lock (topup.db.partitions: advisory lock, lock timeout) only the index-driven check that no job of
the month is queued or dead is made again (a done job never changes, and a job that was queued at the first
check would have been found by it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction

from topup.db import partitions

TABLE = "job"


def _month_done(name: str, cutoff: datetime) -> bool:
    """No job of the month is queued or dead, and every one finished before `cutoff`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT NOT EXISTS (SELECT 1 FROM {name} WHERE status <> 'done' "  # noqa: S608 - our name
            "OR finished_at IS NULL OR finished_at >= %s)",
            [cutoff],
        )
        return bool(cursor.fetchone()[0])


def drop_finished(at: datetime, retention_days: int) -> list[str]:
    """Drop the months that ended before `at` minus `retention_days` and whose jobs all finished before that
    cutoff, with their keys; what it dropped. 0: never."""
    if not partitions.enabled() or retention_days <= 0:
        return []
    cutoff = at - timedelta(days=retention_days)
    with connection.cursor() as cursor:
        names = list(partitions.children(cursor, TABLE))
    dropped: list[str] = []
    for name in names:
        month = partitions.month_of(TABLE, name)
        if month is None or partitions.month_start(month, 1) > cutoff or not _month_done(name, cutoff):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            partitions.begin(cursor)
            if name not in partitions.children(cursor, TABLE):
                continue  # dropped by another maintainer meanwhile
            # The keys first, before the lock on `job` that the detach takes: the workers do not wait for
            # this delete. A writer of one of these keys waits for this transaction's end.
            cursor.execute(
                f"DELETE FROM job_key k USING {name} j "  # noqa: S608
                "WHERE k.kind = j.kind AND k.subject_id = j.subject_id AND k.job_id = j.id"
            )
            cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {name} WHERE status IN ('queued', 'dead'))"  # noqa: S608
            )
            if cursor.fetchone()[0]:  # a job written into that month since the first check: all undone
                transaction.set_rollback(True)
                continue
            cursor.execute(f"DROP TABLE {name}")
            dropped.append(name)
    return dropped
