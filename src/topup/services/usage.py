"""Recording data usage on hosted lines (`POST /api/v1/usage`): each record id is rated exactly once.

A batch is validated and its ICCIDs resolved before anything is written (one unknown line refuses the whole
batch). Then, in one transaction: lock the lines' usable bundles, skip record ids already stored, refuse the
records of stopped lines, rate the rest with the domain, and write rows, bundles and threshold events in bulk.
The query count per batch is constant. The usage row's primary key is the exactly-once guard: a concurrent
batch that stored an id first makes our insert fail, and the retried batch then sees it as a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from topup.clock import now
from topup.db.models import BundleRecord, Line, LineEvent, UsageRow
from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.domain.usage import OverageRule, Rating, UsageRecord, kb_from_bytes, rate_batch
from topup.services import notifications

MAX_RECORDS_PER_BATCH = 10_000
MAX_RECORD_ID_CHARS = 120
MAX_ICCID_CHARS = 22
STOPPED_PROFILE_STATES = frozenset({"deleted"})  # the profile is gone: its traffic is refused, not rated
USABLE_BUNDLE_STATUSES = ("active", "pending")

# Raw statements on `usage_record` (UsageRow) and `bundle` (BundleRecord): the ORM's bulk_create and
# bulk_update cost ~100 µs per row, more than rating itself. SQLite gets executemany; PostgreSQL one INSERT of
# a JSON array, since Django's psycopg cursor binds client-side and quoting 45,000 parameters costs more
# than the insert.
_INSERT_USAGE_SQLITE = (
    'INSERT INTO usage_record (id, line_id, kb, start, "end", drawn_kb, refused_kb, charged_minor, rated_at)'
    " VALUES (%s, %s, %s, %s, %s, %s, %s, 0, %s)"
)
_INSERT_USAGE_PG = (
    'INSERT INTO usage_record (id, line_id, kb, start, "end", drawn_kb, refused_kb, charged_minor, rated_at)'
    " SELECT r->>0, r->>1, (r->>2)::bigint, (r->>3)::timestamptz, (r->>4)::timestamptz,"
    " (r->>5)::bigint, (r->>6)::bigint, 0, %s FROM json_array_elements(%s::json) AS r"
)
_STORED_PG = "SELECT id, drawn_kb, refused_kb FROM usage_record WHERE id = ANY(%s)"
_UPDATE_BUNDLE = "UPDATE bundle SET used_kb = %s, status = %s, starts_at = %s, expires_at = %s WHERE id = %s"


@dataclass(frozen=True, slots=True)
class UsageResult:
    """Counts over the batch and one entry per input record, in input order.

    `accepted` counts records stored by this call (rated or refused), `duplicates` the records whose id was
    already stored or came earlier in the batch, `refused_kb` the kB refused among the accepted ones. Each
    result is {id, status: rated | duplicate | refused, drawn_kb, refused_kb}; a duplicate repeats what was
    recorded the first time.
    """

    accepted: int
    duplicates: int
    refused_kb: int
    results: list[dict[str, object]]


@dataclass(frozen=True, slots=True)
class _Input:
    index: int
    id: str
    iccid: str | None  # None: identified by IMSI, which no line carries yet
    kb: int
    start: datetime
    end: datetime


def _invalid(index: int, name: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"records[{index}].{name}: {message}", code="invalid_usage_record", field=f"records[{index}].{name}"
    )


def _text(record: Mapping[str, object], index: int, name: str, max_chars: int) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= max_chars:
        raise _invalid(index, name, f"must be a string of 1 to {max_chars} characters")
    return value


def _instant(record: Mapping[str, object], index: int, name: str) -> datetime:
    value = record.get(name)
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise _invalid(index, name, "must be an ISO-8601 date and time with an offset")
    return parsed


def _parse(index: int, record: object) -> _Input:
    if not isinstance(record, Mapping):
        raise InvalidInput(
            f"records[{index}] must be an object", code="invalid_usage_record", field=f"records[{index}]"
        )
    record_id = _text(record, index, "id", MAX_RECORD_ID_CHARS)
    iccid = None
    if "iccid" in record or "imsi" not in record:
        iccid = _text(record, index, "iccid", MAX_ICCID_CHARS)
    else:
        _text(record, index, "imsi", 15)
    size = record.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(index, "bytes", "must be an integer >= 0")
    start, end = _instant(record, index, "start"), _instant(record, index, "end")
    if end < start:
        raise _invalid(index, "end", "must not be before start")
    return _Input(index, record_id, iccid, kb_from_bytes(size), start, end)


def _parse_batch(records: Sequence[object]) -> list[_Input]:
    if isinstance(records, str | bytes) or not isinstance(records, Sequence):
        raise InvalidInput("records must be a list", code="invalid_usage_record", field="records")
    if len(records) > MAX_RECORDS_PER_BATCH:
        raise InvalidInput(
            f"at most {MAX_RECORDS_PER_BATCH} records per batch",
            code="usage_batch_too_large",
            field="records",
        )
    return [_parse(i, record) for i, record in enumerate(records)]


def _lines_for(inputs: Sequence[_Input]) -> dict[str, Line]:
    """ICCID -> line, in one query; NotFound `line_not_found` names the first record without a line."""
    iccids = {item.iccid for item in inputs if item.iccid is not None}
    lines = {
        line.iccid: line
        for line in Line.objects.filter(iccid__in=iccids).only("id", "iccid", "profile_state")
    }
    for item in inputs:
        if item.iccid is None or item.iccid not in lines:
            name = "imsi" if item.iccid is None else "iccid"
            raise NotFound(
                f"records[{item.index}]: no line for this {name}", code="line_not_found",
                field=f"records[{item.index}].{name}",
            )  # fmt: skip
    return lines


def record_usage(records: Sequence[Mapping[str, object]]) -> UsageResult:
    """Validate, resolve lines, then store and rate the batch in one transaction (see module docstring)."""
    inputs = _parse_batch(records)
    lines = _lines_for(inputs)
    try:
        return _store(inputs, lines)
    except IntegrityError:
        pass  # a concurrent batch stored one of our ids first; the retry counts it as a duplicate
    try:
        return _store(inputs, lines)
    except IntegrityError as exc:
        raise Conflict("usage records were stored concurrently, retry", code="usage_conflict") from exc


def _store(inputs: Sequence[_Input], lines: Mapping[str, Line]) -> UsageResult:
    first: dict[str, _Input] = {}
    for item in inputs:
        first.setdefault(item.id, item)
    line_of = {item.id: lines[item.iccid] for item in first.values() if item.iccid is not None}
    at = now()
    with transaction.atomic():
        locked = _lock_bundles({line.id for line in line_of.values()})
        stored = _stored_outcomes(list(first))
        fresh = [item for item in first.values() if item.id not in stored]
        stopped = [item for item in fresh if line_of[item.id].profile_state in STOPPED_PROFILE_STATES]
        to_rate = [
            UsageRecord(item.id, line_of[item.id].id, item.kb, item.start, item.end)
            for item in fresh
            if line_of[item.id].profile_state not in STOPPED_PROFILE_STATES
        ]
        ratings = _rate(to_rate, locked, at)
        outcomes = {r.record_id: (r.drawn_kb, r.refused_kb) for r in ratings}
        outcomes.update({item.id: (0, item.kb) for item in stopped})
        _write(fresh, line_of, outcomes, at)
        _save_bundles(locked, ratings)
        _write_threshold_events(ratings, at)
    return _result(inputs, stored, outcomes, {item.id for item in stopped})


def _lock_bundles(line_ids: Iterable[str]) -> list[BundleRecord]:
    """The lines' usable bundles, locked in id order so that concurrent batches queue, not deadlock."""
    query = BundleRecord.objects.select_for_update().filter(
        line_id__in=sorted(line_ids), status__in=USABLE_BUNDLE_STATUSES
    )
    return list(query.order_by("id"))


def _stored_outcomes(record_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(drawn kB, refused kB) of the record ids already stored, in one query."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_STORED_PG, [list(record_ids)])
            rows: Iterable[tuple[str, int, int]] = cursor.fetchall()
    else:
        rows = UsageRow.objects.filter(id__in=record_ids).values_list("id", "drawn_kb", "refused_kb")
    return {record_id: (drawn, refused) for record_id, drawn, refused in rows}


def _rate(records: Sequence[UsageRecord], bundles: Sequence[BundleRecord], at: datetime) -> list[Rating]:
    by_line: dict[str, list[BundleRecord]] = {}
    for bundle in bundles:
        by_line.setdefault(bundle.line_id, []).append(bundle)
    return rate_batch(
        records,
        {line_id: [b.to_domain() for b in rows] for line_id, rows in by_line.items()},
        {},  # overage is refused for now, so the lines' credit is not read
        overage=OverageRule.REFUSE,
        price_per_mb_minor=0,
        at=at,
    )


def _write(
    fresh: Sequence[_Input], lines: Mapping[str, Line], outcomes: Mapping[str, tuple[int, int]], at: datetime
) -> None:
    """One statement for the batch; rows in id order so that concurrent batches collide, not deadlock."""
    rows = [
        (item.id, lines[item.id].id, item.kb, item.start, item.end, *outcomes[item.id])
        for item in sorted(fresh, key=lambda item: item.id)
    ]
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            text = json.dumps(rows, default=datetime.isoformat)
            cursor.execute(_INSERT_USAGE_PG, [at, text])
        else:
            when = connection.ops.adapt_datetimefield_value
            rated_at = when(at)
            cursor.executemany(
                _INSERT_USAGE_SQLITE,
                [(*row[:3], when(row[3]), when(row[4]), *row[5:], rated_at) for row in rows],
            )


def _save_bundles(locked: Sequence[BundleRecord], ratings: Sequence[Rating]) -> None:
    latest = {bundle.id: bundle for rating in ratings for bundle in rating.updated_bundles}
    when = connection.ops.adapt_datetimefield_value
    rows = [
        (bundle.used_kb, bundle.status.value, when(bundle.starts_at), when(bundle.expires_at), bundle.id)
        for bundle in (latest[record.id] for record in locked if record.id in latest)
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_UPDATE_BUNDLE, rows)


def _write_threshold_events(ratings: Sequence[Rating], at: datetime) -> None:
    events = [
        LineEvent(line_id=rating.line_id, kind="bundle_threshold", state=str(percent), code=bundle_id, at=at)
        for rating in ratings
        for bundle_id, percent in rating.threshold_events
    ]
    if events:
        LineEvent.objects.bulk_create(events)
    notifications.bundles_crossed([event for rating in ratings for event in rating.threshold_events], at)


def _result(
    inputs: Sequence[_Input],
    stored: Mapping[str, tuple[int, int]],
    outcomes: Mapping[str, tuple[int, int]],
    stopped: set[str],
) -> UsageResult:
    results: list[dict[str, object]] = []
    seen: set[str] = set()
    duplicates = refused_kb = 0
    for item in inputs:
        duplicate = item.id in stored or item.id in seen
        seen.add(item.id)
        drawn, refused = stored[item.id] if item.id in stored else outcomes[item.id]
        status = "duplicate" if duplicate else "refused" if item.id in stopped else "rated"
        duplicates += duplicate
        refused_kb += 0 if duplicate else refused
        results.append({"id": item.id, "status": status, "drawn_kb": drawn, "refused_kb": refused})
    return UsageResult(len(results) - duplicates, duplicates, refused_kb, results)
