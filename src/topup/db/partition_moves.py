"""Turning a plain table into one range-partitioned by month of a time column on PostgreSQL, and back (the
migrations of ledger transfers and usage records; order events' 0028 has its own copy).

PostgreSQL cannot partition a table in place: it is renamed, a partitioned twin made with the same columns,
one partition per month that holds rows (at most MAX_MONTHS_BACK months back; older rows go to the default
partition) up to MONTHS_AHEAD months ahead plus the default one, the rows copied, the old table dropped, and
its indexes and foreign keys made again under their names. The primary key becomes (id, key): a partitioned
table's unique constraints must hold its partition key. Nothing may point at the table (a foreign key to a
partitioned table needs its whole key). The names put into this SQL are the callers' constants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MONTHS_AHEAD = 3
MAX_MONTHS_BACK = 120


def _month(year: int, month: int, add: int = 0) -> datetime:
    index = year * 12 + month - 1 + add
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _indexes_and_keys(cursor: Any, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The table's CREATE INDEX statements (not its primary key's) and its foreign keys, to make again."""
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname <> %s",
        [table, f"{table}_pkey"],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f'",
        [table],
    )
    return indexes, [(row[0], row[1]) for row in cursor.fetchall()]


def _make_months(cursor: Any, table: str, oldest: datetime | None) -> None:
    today = datetime.now(UTC)
    first = _month(today.year, today.month)
    if oldest is not None:
        oldest = oldest.astimezone(UTC)
        first = max(
            min(first, _month(oldest.year, oldest.month)), _month(first.year, first.month, -MAX_MONTHS_BACK)
        )
    start, end = first, _month(today.year, today.month, MONTHS_AHEAD + 1)
    while start < end:
        upper = _month(start.year, start.month, 1)
        cursor.execute(
            f"CREATE TABLE {table}_p{start:%Y%m} PARTITION OF {table} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{upper.isoformat()}')"  # DDL: no parameters
        )
        start = upper
    cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")


def partition(connection: Any, table: str, key: str) -> None:
    """`table` partitioned by month of `key`, its rows moved, primary key (id, key); PostgreSQL only."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        indexes, keys = _indexes_and_keys(cursor, table)
        cursor.execute(f"SELECT min({key}) FROM {table}")  # noqa: S608
        (oldest,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE) PARTITION BY RANGE ({key})"
        )
        _make_months(cursor, table, oldest)
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")  # noqa: S608
        cursor.execute(f"DROP TABLE {table}_unpartitioned")
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, {key})")
        for statement in indexes:
            cursor.execute(statement)
        for name, definition in keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def unpartition(connection: Any, table: str) -> None:
    """Back to one plain table keyed by id (its partitions, attached ones, go with it); PostgreSQL only."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        indexes, keys = _indexes_and_keys(cursor, table)
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_partitioned")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {table}_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE)"
        )
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_partitioned")  # noqa: S608
        cursor.execute(f"DROP TABLE {table}_partitioned")
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id)")
        for statement in indexes:
            cursor.execute(statement.replace(" ON ONLY ", " ON "))
        for name, definition in keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
