"""Monthly range partitions on PostgreSQL (issue #13): months made ahead, months past retention detached and
moved to the `archive` schema, archived months dumped to files, and the list of them all. SQLite has no
partitions: every function here does nothing there.

Partitions are named `<table>_pYYYYMM` and hold [first of the month, first of the next) in UTC; each table
also has `<table>_default`, so that an insert outside every month still lands somewhere. Each change is
one short transaction under an advisory lock (two maintainers cannot interleave) with a lock timeout (a
change that waits behind the hot path gives up and is tried again at the next sweep, instead of making
every insert queue behind it).

The rule for detaching (`PARTITIONED[...].still_needed`): a month is detached only when it ended
`retention` months before the current month began AND none of its rows is still needed. For order events
that is: no event of an order that is not final (an order in flight keeps its whole history attached).
For ledger transfers (partitioned by `booked_at`, the time of the ULID their id starts with): no transfer
still `rollup_pending` (db/ledger_books roll_up) or `pending`, and none of an order not yet final. For
usage records (by `start`): none is needed; records starting that long ago are refused. Jobs (by
`created_at`) are made ahead here but never archived: a month whose jobs all finished before the jobs'
retention is dropped whole, with its keys (db/job_months).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from topup.domain.orders import TERMINAL_STATES

ARCHIVE_SCHEMA = "archive"
LOCK_TIMEOUT = "2s"
_ADVISORY_KEY = "topup:partitions"
_FINAL = ", ".join(sorted(f"'{status.value}'" for status in TERMINAL_STATES))


@dataclass(frozen=True)
class Partitioned:
    table: str
    column: str  # the partition key: the row's creation time
    still_needed: str  # SQL naming {partition}: true when one of its rows must stay attached


PARTITIONED = (
    Partitioned(
        "order_event",
        "at",
        # The statuses are constants of the domain, the partition name one of ours: hence the noqa S608.
        f'EXISTS (SELECT 1 FROM {{partition}} e JOIN "order" o ON o.id = e.order_id '  # noqa: S608
        f"WHERE o.status NOT IN ({_FINAL}))",
    ),
    Partitioned(
        "ledger_transfer",
        "booked_at",
        # Not yet folded into its accounts' totals (the roll-up reads it), still pending (post or void
        # comes), or money of an order not yet final (its refund or delivery may still post).
        f"EXISTS (SELECT 1 FROM {{partition}} t WHERE t.rollup_pending OR t.status = 'pending' "  # noqa: S608
        f'OR t.order_id IN (SELECT o.id FROM "order" o WHERE o.status NOT IN ({_FINAL})))',
    ),
    # Rated when stored: nothing waits on a record. One starting in a month old enough to be detached is
    # refused (services/usage `usage_too_old`, the same cutoff), so a resend cannot be rated twice.
    Partitioned("usage_record", "start", "FALSE"),
    # Never detached to the archive: db/job_months drops finished months after TOPUP_RETENTION_JOBS_DAYS.
    Partitioned("job", "created_at", "TRUE"),
)


@dataclass(frozen=True)
class PartitionInfo:
    table: str
    name: str
    state: str  # attached | default | archived
    bounds: str
    rows_estimate: int
    bytes: int


def enabled() -> bool:
    return connection.vendor == "postgresql"


def month_start(at: datetime, add: int = 0) -> datetime:
    """The first instant (UTC) of the month of `at`, moved by `add` months."""
    at = at.astimezone(UTC)
    index = at.year * 12 + at.month - 1 + add
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def begin(cursor: Any) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_ADVISORY_KEY])


def children(cursor: Any, table: str) -> dict[str, str]:
    """The attached partitions of `table`: name -> bound expression."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass ORDER BY c.relname",
        [table],
    )
    return {str(name): str(bound) for name, bound in cursor.fetchall()}


def ensure_months(at: datetime, months_ahead: int = 3) -> list[str]:
    """Make the partitions of the month of `at` and the `months_ahead` after it, those of the months whose
    rows wait in the default partition (moved into them), and the default partition; what it made."""
    if not enabled():
        return []
    made: list[str] = []
    for spec in PARTITIONED:
        with connection.cursor() as cursor:
            existing = children(cursor, spec.table)
            default = f"{spec.table}_default"
            if default not in existing:
                with transaction.atomic():
                    begin(cursor)
                    cursor.execute(f"CREATE TABLE IF NOT EXISTS {default} PARTITION OF {spec.table} DEFAULT")
                made.append(default)
            cursor.execute(
                f"SELECT DISTINCT date_trunc('month', {spec.column} AT TIME ZONE 'UTC') FROM {default}"  # noqa: S608
            )
            waiting = {month_start(row[0].replace(tzinfo=UTC)) for row in cursor.fetchall()}
        months = waiting | {month_start(at, add) for add in range(months_ahead + 1)}
        for month in sorted(months):
            name = partition_name(spec.table, month)
            if name not in existing:
                with transaction.atomic(), connection.cursor() as cursor:
                    begin(cursor)
                    if name not in children(cursor, spec.table):  # another maintainer's, meanwhile
                        _attach_month(cursor, spec, month)
                        made.append(name)
    return made


def _attach_month(cursor: Any, spec: Partitioned, month: datetime) -> None:
    """A new month's table, its rows taken out of the default partition, attached (a lighter lock on the
    parent than CREATE TABLE … PARTITION OF would take)."""
    name, default = partition_name(spec.table, month), f"{spec.table}_default"
    lower, upper = month.isoformat(), month_start(month, 1).isoformat()
    cursor.execute(
        f"CREATE TABLE {name} (LIKE {spec.table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
    )
    # ATTACH takes this lock on the default partition anyway; taken first, no row can be added to it
    # between the move below and the attach (one would be refused by the attach's check, or, were the move
    # two statements, deleted uncopied).
    cursor.execute(f"LOCK TABLE {default} IN ACCESS EXCLUSIVE MODE")
    in_month = f"{spec.column} >= '{lower}' AND {spec.column} < '{upper}'"
    cursor.execute(
        f"WITH moved AS (DELETE FROM {default} WHERE {in_month} RETURNING *) "  # noqa: S608
        f"INSERT INTO {name} SELECT * FROM moved"
    )
    # DDL takes no parameters: the bounds are instants this module computed.
    cursor.execute(
        f"ALTER TABLE {spec.table} ATTACH PARTITION {name} FOR VALUES FROM ('{lower}') TO ('{upper}')"
    )


def detach_old(at: datetime, retention_months: int) -> list[str]:
    """Detach the months that ended `retention_months` before the month of `at` began and hold no row still
    needed, and move them to the `archive` schema without their foreign keys; what it detached. 0: never."""
    if not enabled() or retention_months <= 0:
        return []
    cutoff = month_start(at, -retention_months)
    detached: list[str] = []
    for spec in PARTITIONED:
        with connection.cursor() as cursor:
            names = list(children(cursor, spec.table))
        for name in names:
            month = month_of(spec.table, name)
            if month is None or month_start(month, 1) > cutoff:
                continue
            with transaction.atomic(), connection.cursor() as cursor:
                begin(cursor)
                if name not in children(cursor, spec.table):
                    continue  # detached by another maintainer meanwhile
                cursor.execute(f"SELECT {spec.still_needed.format(partition=name)}")
                if cursor.fetchone()[0]:
                    continue
                _detach(cursor, spec.table, name)
                detached.append(name)
    return detached


def month_of(table: str, name: str) -> datetime | None:
    prefix = f"{table}_p"
    digits = name[len(prefix) :]
    if not name.startswith(prefix) or len(digits) != len("YYYYMM") or not digits.isdigit():
        return None
    return datetime(int(digits[:4]), int(digits[4:]), 1, tzinfo=UTC)


def _detach(cursor: Any, table: str, name: str) -> None:
    cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [name]
    )
    for (constraint,) in cursor.fetchall():
        cursor.execute(f'ALTER TABLE {name} DROP CONSTRAINT "{constraint}"')
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {ARCHIVE_SCHEMA}")
    cursor.execute(f"ALTER TABLE {name} SET SCHEMA {ARCHIVE_SCHEMA}")


_SIZES = (
    "SELECT c.relname, GREATEST(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = %s"
)


def status() -> list[PartitionInfo]:
    """Every partition of every partitioned table, attached or archived, in name order."""
    if not enabled():
        return []
    found: list[PartitionInfo] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        cursor.execute(_SIZES + " AND c.relispartition", [cursor.fetchone()[0]])
        sizes = {str(row[0]): (int(row[1]), int(row[2])) for row in cursor.fetchall()}
        cursor.execute(_SIZES, [ARCHIVE_SCHEMA])
        archived = {str(row[0]): (int(row[1]), int(row[2])) for row in cursor.fetchall()}
        for spec in PARTITIONED:
            for name, bounds in children(cursor, spec.table).items():
                state = "default" if bounds == "DEFAULT" else "attached"
                found.append(PartitionInfo(spec.table, name, state, bounds, *sizes.get(name, (0, 0))))
            for name, (rows, size) in sorted(archived.items()):
                if month_of(spec.table, name):
                    found.append(PartitionInfo(spec.table, name, "archived", "", rows, size))
    return found


def archive_to(directory: Path, *, drop: bool = False) -> list[tuple[str, int, Path]]:
    """Dump every table of the `archive` schema with COPY (CSV with a header) to `<directory>/<name>.csv`,
    written whole before it is renamed into place; with `drop`, each table is dropped once its file is."""
    if not enabled():
        return []
    directory.mkdir(parents=True, exist_ok=True)
    dumped: list[tuple[str, int, Path]] = []
    with connection.cursor() as cursor:
        cursor.execute(_SIZES + " ORDER BY c.relname", [ARCHIVE_SCHEMA])
        names = [str(row[0]) for row in cursor.fetchall()]
    for name in names:
        path = directory / f"{name}.csv"
        partial = path.with_suffix(".csv.partial")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {ARCHIVE_SCHEMA}.{name}")  # noqa: S608
            rows = int(cursor.fetchone()[0])
            with partial.open("wb") as out:
                copy_sql = f"COPY {ARCHIVE_SCHEMA}.{name} TO STDOUT (FORMAT csv, HEADER)"
                with cursor.cursor.copy(copy_sql) as copy:
                    for chunk in copy:
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(path)
            if drop:
                cursor.execute(f"DROP TABLE {ARCHIVE_SCHEMA}.{name}")
        dumped.append((name, rows, path))
    return dumped
