"""The writes of a usage batch: usage rows, bundle counters, threshold events, in constant queries.

Raw statements on `usage_record` (UsageRow) and `bundle` (BundleRecord): the ORM's bulk_create and
bulk_update cost ~100 µs a row, more than rating itself. PostgreSQL gets `COPY … FROM STDIN` (psycopg 3's
`cursor.copy()`), SQLite one executemany. The row's primary key stays the exactly-once guard: COPY into the
table itself fails as a whole on a stored id (IntegrityError, the transaction rolls back).
Each changed bundle gets one conditional UPDATE with the batch's summed usage: it applies only if the row
still holds the usage the batch was rated from and the new usage stays within the bundle's cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from topup.db.models import BundleRecord, LineEvent, UsageRow
from topup.domain.bundles import Bundle
from topup.domain.errors import Conflict

USABLE_BUNDLE_STATUSES = ("active", "pending")
# id, line id, kB, start, end, start and end as ISO-8601 text, drawn kB, refused kB
UsageRowValues = tuple[str, str, int, datetime, datetime, str, str, int, int]

_COPY_USAGE = (
    'COPY usage_record (id, line_id, kb, start, "end", drawn_kb, refused_kb, charged_minor, rated_at)'
    " FROM STDIN"
)
_INSERT_USAGE_SQLITE = (
    'INSERT INTO usage_record (id, line_id, kb, start, "end", drawn_kb, refused_kb, charged_minor, rated_at)'
    " VALUES (%s, %s, %s, %s, %s, %s, %s, 0, %s)"
)
_STORED_PG = "SELECT id, drawn_kb, refused_kb FROM usage_record WHERE id = ANY(%s)"
_UPDATE_BUNDLE = (
    "UPDATE bundle SET used_kb = used_kb + %s, status = %s, starts_at = %s, expires_at = %s"
    " WHERE id = %s AND used_kb = %s AND used_kb + %s <= COALESCE(data_kb, fair_use_kb)"
)


def lock_bundles(line_ids: Iterable[str]) -> list[Bundle]:
    """The lines' usable bundles, locked in id order so that concurrent batches queue, not deadlock."""
    query = BundleRecord.objects.select_for_update().filter(
        line_id__in=sorted(line_ids), status__in=USABLE_BUNDLE_STATUSES
    )
    return [record.to_domain() for record in query.order_by("id")]


def stored_outcomes(record_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(drawn kB, refused kB) of the record ids already stored, in one query."""
    if not record_ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_STORED_PG, [list(record_ids)])
            rows: Iterable[tuple[str, int, int]] = cursor.fetchall()
    else:
        rows = UsageRow.objects.filter(id__in=record_ids).values_list("id", "drawn_kb", "refused_kb")
    return {record_id: (drawn, refused) for record_id, drawn, refused in rows}


def write_usage(rows: list[UsageRowValues], rated_at: datetime) -> None:
    """Store the batch's new usage rows, sorted by id so that concurrent batches collide, not deadlock."""
    if not rows:
        return
    rows.sort()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy(cursor.cursor, rows, rated_at)
            return
        when = connection.ops.adapt_datetimefield_value
        at = when(rated_at)
        cursor.executemany(
            _INSERT_USAGE_SQLITE,
            [(rid, line, kb, when(start), when(end), drawn, refused, at)
             for rid, line, kb, start, end, _, _, drawn, refused in rows],
        )  # fmt: skip


_COPY_SPECIALS = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy(raw_cursor: Any, rows: Sequence[UsageRowValues], rated_at: datetime) -> None:
    """COPY in text format, the lines built here: psycopg's write_row costs ~13 µs a row (its datetimes).
    Start and end go as the ISO-8601 texts of the rows (see services.usage._Batch.texts)."""
    ids = "".join(row[0] for row in rows)
    if any(c in ids for c in "\\\t\n\r"):
        rows = [(row[0].translate(_COPY_SPECIALS), *row[1:]) for row in rows]  # COPY's text escapes
    at = rated_at.isoformat()
    text = "".join(
        f"{rid}\t{line}\t{kb}\t{start}\t{end}\t{drawn}\t{refused}\t0\t{at}\n"
        for rid, line, kb, _, _, start, end, drawn, refused in rows
    )
    # wrap_database_errors turns psycopg's UniqueViolation into Django's IntegrityError, as execute() does.
    with connection.wrap_database_errors, raw_cursor.copy(_COPY_USAGE) as copy:
        copy.write(text.encode())


def save_bundles(before: Sequence[Bundle], after: Sequence[Bundle]) -> None:
    """One conditional UPDATE per changed bundle; Conflict `usage_conflict` if any row had moved on."""
    used_before = {bundle.id: bundle.used_kb for bundle in before}
    when = connection.ops.adapt_datetimefield_value
    rows = []
    for bundle in after:
        old = used_before[bundle.id]
        delta = bundle.used_kb - old
        rows.append((delta, bundle.status.value, when(bundle.starts_at), when(bundle.expires_at), bundle.id,
                     old, delta))  # fmt: skip
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(_UPDATE_BUNDLE, rows)
        changed = cursor.rowcount  # summed over the rows by psycopg 3 and sqlite3
    if changed != len(rows):
        raise Conflict("a bundle changed while the batch was rated, retry", code="usage_conflict")


def write_threshold_events(events: Sequence[tuple[str, str, int]], at: datetime) -> None:
    """One `bundle_threshold` line event per (line, bundle, percent), in one INSERT."""
    if events:
        LineEvent.objects.bulk_create(
            LineEvent(line_id=line_id, kind="bundle_threshold", state=str(percent), code=bundle_id, at=at)
            for line_id, bundle_id, percent in events
        )
