"""The writes of a usage batch: usage rows, bundle counters, threshold events, in constant queries.

Raw statements on `usage_record` (UsageRow) and `bundle` (BundleRecord): the ORM's bulk_create and
bulk_update cost ~100 µs a row, more than rating itself. PostgreSQL gets `COPY … FROM STDIN` in binary
format (psycopg 3's `cursor.copy()`, the rows built here), SQLite one executemany. The row's primary key
stays the exactly-once guard: COPY into the table itself fails as a whole on a stored id (IntegrityError,
the transaction rolls back).
Each changed bundle gets one conditional UPDATE with the batch's summed usage: it applies only if the row
still holds the usage the batch was rated from and the new usage stays within the bundle's cap.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from topup.db.models import BundleRecord, LineEvent, UsageRow
from topup.domain.bundles import Bundle
from topup.domain.errors import Conflict

USABLE_BUNDLE_STATUSES = ("active", "pending")
# id, line id, kB, start, end, drawn kB, refused kB
UsageRowValues = tuple[str, str, int, datetime, datetime, int, int]

_COPY_USAGE = (
    'COPY usage_record (id, line_id, kb, start, "end", drawn_kb, refused_kb, charged_minor, rated_at)'
    " FROM STDIN (FORMAT BINARY)"
)
# PostgreSQL's binary COPY: a signature, 32-bit flags and header-extension length (both 0), then per row a
# 16-bit field count and each field as a 32-bit length and its bytes, then -1 as a 16-bit count.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_BINARY_TRAILER = b"\xff\xff"
_FIELD_COUNT = (9).to_bytes(2, "big")
# kb, start, end, drawn_kb, refused_kb, charged_minor, rated_at: each a 64-bit integer (length 8) in network
# order; varchar is its UTF-8 bytes, timestamptz the microseconds since 2000-01-01 00:00 UTC.
_NUMBERS = struct.Struct(">" + "iq" * 7)
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
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
             for rid, line, kb, start, end, drawn, refused in rows],
        )  # fmt: skip


def _text_field(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(4, "big") + data


def _copy(raw_cursor: Any, rows: Sequence[UsageRowValues], rated_at: datetime) -> None:
    """COPY in binary format, the rows built here: psycopg's write_row costs ~13 µs a row (its datetimes), and
    PostgreSQL reads binary timestamps in less CPU than their text (~1 µs a row less for the three)."""
    epoch, microsecond, pack = _PG_EPOCH, _MICROSECOND, _NUMBERS.pack
    at = (rated_at - epoch) // microsecond
    line_fields = {line: _text_field(line) for line in {row[1] for row in rows}}
    data = [_BINARY_HEADER]
    data.extend(
        _FIELD_COUNT + _text_field(rid) + line_fields[line]
        + pack(8, kb, 8, (start - epoch) // microsecond, 8, (end - epoch) // microsecond, 8, drawn,
               8, refused, 8, 0, 8, at)
        for rid, line, kb, start, end, drawn, refused in rows
    )  # fmt: skip
    data.append(_BINARY_TRAILER)
    # wrap_database_errors turns psycopg's UniqueViolation into Django's IntegrityError, as execute() does.
    with connection.wrap_database_errors, raw_cursor.copy(_COPY_USAGE) as copy:
        copy.write(b"".join(data))


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
