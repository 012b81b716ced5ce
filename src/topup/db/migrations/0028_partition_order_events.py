"""Order events become a table partitioned by month of `at` on PostgreSQL (issue #13); SQLite: nothing to do.

PostgreSQL cannot turn a table into a partitioned one in place: the table is renamed, a partitioned twin
is made with the same columns, one partition per month that holds rows (at most MAX_MONTHS_BACK months
back; older rows go to the default partition) up to MONTHS_AHEAD months ahead plus the default one, the
rows are copied, the old table dropped, and its indexes and foreign keys made again under their names.
The primary key becomes (id, at): a partitioned table's unique constraints must hold its partition key.
The id keeps its sequence (a plain one owned by the column: PostgreSQL 15 has no identity column on a
partitioned table). Nothing points at order_event, and no other unique constraint was on it.

Usage records, ledger transfers and jobs stay unpartitioned: their ids (and the jobs' (kind, subject))
are idempotency keys without time in them; the README's "Growth of data" says why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import migrations

TABLE = "order_event"  # the only name put into this SQL (noqa S608 below): a constant
MONTHS_AHEAD = 3
MAX_MONTHS_BACK = 120


def _month(year: int, month: int, add: int = 0) -> datetime:
    index = year * 12 + month - 1 + add
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _indexes_and_keys(cursor: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """The old table's CREATE INDEX statements (not its primary key's) and its foreign keys, to make again."""
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname <> %s",
        [TABLE, f"{TABLE}_pkey"],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f'",
        [TABLE],
    )
    return indexes, [(row[0], row[1]) for row in cursor.fetchall()]


def partition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        indexes, keys = _indexes_and_keys(cursor)
        cursor.execute(f"SELECT min(at), COALESCE(max(id), 0) FROM {TABLE}")  # noqa: S608
        oldest, last_id = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_unpartitioned")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {TABLE}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE) PARTITION BY RANGE (at)"
        )
        today = datetime.now(UTC)
        first = _month(today.year, today.month)
        if oldest is not None:
            first = max(
                min(first, _month(oldest.year, oldest.month)),
                _month(first.year, first.month, -MAX_MONTHS_BACK),
            )
        start, end = first, _month(today.year, today.month, MONTHS_AHEAD + 1)
        while start < end:
            upper = _month(start.year, start.month, 1)
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{start:%Y%m} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{upper.isoformat()}')"  # DDL: no parameters
            )
            start = upper
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_unpartitioned")  # noqa: S608
        cursor.execute(f"DROP TABLE {TABLE}_unpartitioned")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, at)")
        for statement in indexes:
            cursor.execute(statement)
        for name, definition in keys:
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
        cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
        cursor.execute(f"SELECT setval('{TABLE}_id_seq', %s, %s)", [max(last_id, 1), last_id > 0])


def unpartition(apps: Any, schema_editor: Any) -> None:
    """Back to one plain table with an identity id (its partitions, attached ones, go with it)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        indexes, keys = _indexes_and_keys(cursor)
        cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {TABLE}")  # noqa: S608
        (last_id,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_partitioned")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {TABLE}_partitioned INCLUDING CONSTRAINTS INCLUDING STORAGE)"
        )
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_partitioned")  # noqa: S608
        cursor.execute(f"DROP TABLE {TABLE}_partitioned")  # its sequence goes with it
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
        for statement in indexes:
            cursor.execute(statement.replace(" ON ONLY ", " ON "))
        for name, definition in keys:
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s, %s)", [max(last_id, 1), last_id > 0]
        )


class Migration(migrations.Migration):
    dependencies = [("topup", "0027_hot_table_indexes")]

    operations = [migrations.RunPython(partition, unpartition)]
