"""Migration 0032 moves the once-per-(kind, subject) key of filled `job` table into `job_key` (both
databases) and, on PostgreSQL, turns `job` into a table partitioned by month of `created_at`, every row in
its month; a second job for a pair still fails, and the way back restores one plain table with its unique
constraint, the same rows."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from topup.services import jobs

pytestmark = pytest.mark.django_db(transaction=True)

PARTITIONING = importlib.import_module("topup.db.migrations.0034_partition_jobs").Migration
BEFORE = [d for d in PARTITIONING.dependencies if d[0] == "topup"]
MONTHS = [datetime(2025, 3, 4, tzinfo=UTC), datetime(2026, 1, 31, 23, 59, tzinfo=UTC), datetime.now(UTC)]
ROWS = [("job_m1", "deliver", "ord_1", MONTHS[0]), ("job_m2", "refund", "ord_1", MONTHS[1]),
        ("job_m3", "notify", "pay_link:ord_2", MONTHS[2])]  # fmt: skip


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()


def _insert(job_id: str, kind: str, subject: str, at: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO job (id, kind, subject_id, status, attempts, run_after, lease_token, last_error, "
            "created_at, request_id, traceparent) VALUES (%s, %s, %s, 'queued', 0, %s, '', '', %s, '', '')",
            [job_id, kind, subject, at, at],
        )


def _where() -> dict[str, str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT id, tableoid::regclass::text FROM job")
        else:
            cursor.execute("SELECT id, 'job' FROM job")
        return dict(cursor.fetchall())


def _keys() -> set[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, subject_id, job_id FROM job_key")
        return set(cursor.fetchall())


def test_existing_jobs_get_their_keys_and_move_into_their_months_and_back() -> None:
    _migrate(BEFORE)
    for row in ROWS:
        _insert(*row)
    _migrate([("topup", "0034_partition_jobs")])

    assert _keys() == {(kind, subject, job_id) for job_id, kind, subject, _ in ROWS}
    if connection.vendor == "postgresql":
        assert _where() == {
            "job_m1": "job_p202503", "job_m2": "job_p202601", "job_m3": f"job_p{MONTHS[2]:%Y%m}",
        }  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        jobs.add_one("deliver", "ord_1", at=MONTHS[2])  # its key came along
    assert jobs.add_one("deliver", "ord_3", at=MONTHS[2]) is True

    _migrate(BEFORE)  # and back: one plain table, the same rows, the unique constraint again
    assert set(_where().values()) == {"job"}
    assert len(_where()) == len(ROWS) + 1
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert("job_twin", "deliver", "ord_3", MONTHS[2])
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("topup"))
