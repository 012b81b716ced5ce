"""Recording data usage on hosted lines (`POST /api/v1/usage`): each record id is rated exactly once.

A batch is validated and its ICCIDs resolved before anything is written (one unknown line refuses the whole
batch). Then, in one transaction: lock the lines' usable bundles, refuse the records of stopped lines, rate
the rest (`domain.rating`, the rules of `domain.usage`), and write rows, bundles and threshold events in bulk
(`services.usage_store`). The query count per batch is constant.

Exactly once: the usage row's primary key, (id, start) on PostgreSQL where the table is partitioned by month
of `start` (a resent record, the same CDR, carries the same start). A record starting before the partition
retention window is refused (`usage_too_old`, the whole batch): its month may be detached already, where a
resent copy would not be found. The first attempt does not look up stored ids (a resent record is
rare): a stored id makes the insert fail, the transaction rolls back, and the next attempt looks the batch's
ids up and answers them as duplicates. A concurrent batch that stored an id between the look-up and our
insert makes the insert fail again, and the attempt after that sees it; past that, Conflict `usage_conflict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from django.db import IntegrityError, transaction

from topup.clock import now
from topup.db.models import Line
from topup.domain.bundles import Bundle
from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.domain.rating import rate_lines
from topup.domain.usage import kb_from_bytes, oldest_start_accepted
from topup.services import notifications, usage_store
from topup.settings import CONFIG

MAX_RECORDS_PER_BATCH = 10_000
MAX_RECORD_ID_CHARS = 120
MAX_ICCID_CHARS = 22
MAX_IMSI_CHARS = 15
MAX_RECORD_BYTES = 2**53  # ~9 PB: far above any session, and its kB sums stay inside a 64-bit column
# An instant in years 2..9998 converts to UTC without leaving datetime's range (offsets are under a day).
MIN_YEAR, MAX_YEAR = 2, 9998
STOPPED_PROFILE_STATES = frozenset({"deleted"})  # the profile is gone: its traffic is refused, not rated


class RecordOutcome(TypedDict):
    id: str
    status: str  # rated | duplicate | refused
    drawn_kb: int
    refused_kb: int


@dataclass(frozen=True, slots=True)
class UsageResult:
    """Counts over the batch and one outcome per input record, in input order, as columns.

    `accepted` counts records stored by this call (rated or refused), `duplicates` the records whose id was
    already stored or came earlier in the batch, `refused_kb` the kB refused among the accepted ones. Record
    i has id `ids[i]`, status `statuses[i]` (rated | duplicate | refused), `record_drawn_kb[i]` and
    `record_refused_kb[i]`; a duplicate repeats what was recorded the first time.
    """

    accepted: int
    duplicates: int
    refused_kb: int
    ids: list[str]
    statuses: list[str]
    record_drawn_kb: list[int]
    record_refused_kb: list[int]

    @property
    def results(self) -> list[RecordOutcome]:
        """The outcomes as {id, status, drawn_kb, refused_kb}, the form the API answers with."""
        return [
            {"id": record_id, "status": status, "drawn_kb": drawn, "refused_kb": refused}
            for record_id, status, drawn, refused in zip(
                self.ids, self.statuses, self.record_drawn_kb, self.record_refused_kb, strict=True
            )
        ]


@dataclass(slots=True)
class _Batch:
    """The validated records as columns (one list per field, record i at index i): no object per record."""

    ids: list[str] = field(default_factory=list)
    iccids: list[str | None] = field(default_factory=list)  # None: identified by IMSI, no line carries one
    kbs: list[int] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)

    def add(self, record_id: str, iccid: str | None, kb: int, start: datetime, end: datetime) -> None:
        self.ids.append(record_id)
        self.iccids.append(iccid)
        self.kbs.append(kb)
        self.starts.append(start)
        self.ends.append(end)


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
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _invalid(index, name, f"must be in the years {MIN_YEAR} to {MAX_YEAR}")
    return parsed


def _parse(index: int, record: object) -> tuple[str, str | None, int, datetime, datetime]:
    """One record checked field by field, with an error naming the first wrong field (the slow path)."""
    if not isinstance(record, Mapping):
        raise InvalidInput(
            f"records[{index}] must be an object", code="invalid_usage_record", field=f"records[{index}]"
        )
    record = {name: value for name, value in record.items() if value != ""}  # "" = absent
    record_id = _text(record, index, "id", MAX_RECORD_ID_CHARS)
    iccid = None
    if "iccid" in record or "imsi" not in record:
        iccid = _text(record, index, "iccid", MAX_ICCID_CHARS)
    else:
        _text(record, index, "imsi", MAX_IMSI_CHARS)
    size = record.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_RECORD_BYTES:
        raise _invalid(index, "bytes", f"must be an integer from 0 to {MAX_RECORD_BYTES}")
    start, end = _instant(record, index, "start"), _instant(record, index, "end")
    if end < start:
        raise _invalid(index, "end", "must not be before start")
    return record_id, iccid, kb_from_bytes(size), start, end


def _parse_batch(records: object) -> _Batch:
    """Every record validated, or InvalidInput naming the first wrong one; nothing is read or written.

    The loop takes the usual shape of a record (id, iccid, bytes, start, end, all well-typed) in a few
    checks; anything else goes through `_parse`, which accepts the other valid shapes (an IMSI instead of an
    ICCID) and words the error of the first invalid field.
    """
    if not isinstance(records, list):
        raise InvalidInput("records must be a list", code="invalid_usage_record", field="records")
    if not records:
        raise InvalidInput("records must not be empty", code="invalid_usage_record", field="records")
    if len(records) > MAX_RECORDS_PER_BATCH:
        raise InvalidInput(
            f"at most {MAX_RECORDS_PER_BATCH} records per batch",
            code="usage_batch_too_large",
            field="records",
        )
    batch = _Batch()
    ids, iccids, kbs, starts, ends = batch.ids, batch.iccids, batch.kbs, batch.starts, batch.ends
    parse_instant = datetime.fromisoformat
    for index, record in enumerate(records):
        try:
            record_id, iccid, size = record["id"], record["iccid"], record["bytes"]
            start, end = parse_instant(record["start"]), parse_instant(record["end"])
        except (TypeError, KeyError, ValueError, IndexError):
            batch.add(*_parse(index, record))
            continue
        if (
            type(record_id) is str and 0 < len(record_id) <= MAX_RECORD_ID_CHARS
            and type(iccid) is str and 0 < len(iccid) <= MAX_ICCID_CHARS
            and type(size) is int and 0 <= size <= MAX_RECORD_BYTES
            and start.tzinfo is not None and end.tzinfo is not None and end >= start
            and start.year >= MIN_YEAR and end.year <= MAX_YEAR
        ):  # fmt: skip
            ids.append(record_id)
            iccids.append(iccid)
            kbs.append(-(-size // 1024))  # kb_from_bytes, inlined: it is the hot loop
            starts.append(start)
            ends.append(end)
        else:
            batch.add(*_parse(index, record))
    return batch


def _lines_for(batch: _Batch) -> dict[str, tuple[str, str]]:
    """ICCID -> (line id, profile state), in one query; NotFound `line_not_found` names the first record
    without a line."""
    wanted = {iccid for iccid in batch.iccids if iccid is not None}
    lines = {
        iccid: (line_id, state)
        for line_id, iccid, state in Line.objects.filter(iccid__in=wanted).values_list(
            "id", "iccid", "profile_state"
        )
    }
    if len(lines) < len(wanted) or None in batch.iccids:
        for index, iccid in enumerate(batch.iccids):
            if iccid is None or iccid not in lines:
                name = "imsi" if iccid is None else "iccid"
                raise NotFound(
                    f"records[{index}]: no line for this {name}", code="line_not_found",
                    field=f"records[{index}].{name}",
                )  # fmt: skip
    return lines


def _refuse_too_old(batch: _Batch) -> None:
    """InvalidInput `usage_too_old` naming the first record that starts before the retention window."""
    oldest = oldest_start_accepted(now(), CONFIG.partition_retention_months)
    if oldest is None or min(batch.starts) >= oldest:
        return
    index = next(i for i, start in enumerate(batch.starts) if start < oldest)
    raise InvalidInput(
        f"records[{index}]: starts before {oldest.date().isoformat()}, too old to be rated",
        code="usage_too_old", field=f"records[{index}].start",
    )  # fmt: skip


def record_usage(records: object) -> UsageResult:
    """Validate, resolve lines, then store and rate the batch in one transaction (see module docstring)."""
    batch = _parse_batch(records)
    _refuse_too_old(batch)
    lines = _lines_for(batch)
    for look_up in (False, True):
        try:
            return _store(batch, lines, look_up=look_up)
        except IntegrityError:
            pass  # an id was stored already (or concurrently): the next attempt looks the ids up
    try:
        return _store(batch, lines, look_up=True)
    except IntegrityError as exc:
        raise Conflict("usage records were stored concurrently, retry", code="usage_conflict") from exc


def _firsts(ids: Sequence[str]) -> list[int]:
    """The index of each id's first occurrence, in input order (a repeated id counts once)."""
    first: dict[str, int] = {}
    for index, record_id in enumerate(ids):
        first.setdefault(record_id, index)
    return list(first.values()) if len(first) < len(ids) else list(range(len(ids)))


def _store(batch: _Batch, lines: Mapping[str, tuple[str, str]], *, look_up: bool) -> UsageResult:
    ids = batch.ids
    firsts = _firsts(ids)
    line_ids = [lines[iccid][0] if iccid is not None else "" for iccid in batch.iccids]
    stopped = {lines[iccid][0] for iccid, (_, state) in lines.items() if state in STOPPED_PROFILE_STATES}
    at = now()
    with transaction.atomic():
        locked = usage_store.lock_bundles(set(line_ids))
        stored = usage_store.stored_outcomes([ids[i] for i in firsts]) if look_up else {}
        fresh = [i for i in firsts if ids[i] not in stored] if stored else firsts
        by_line: dict[str, list[tuple[datetime, str, int, int]]] = {}
        starts, kbs = batch.starts, batch.kbs
        for i in fresh:
            line_id = line_ids[i]
            if line_id not in stopped:  # a stopped line's records are refused: no bundle given below
                by_line.setdefault(line_id, []).append((starts[i], ids[i], kbs[i], i))
        bundles: dict[str, list[Bundle]] = {}
        for bundle in locked:
            bundles.setdefault(bundle.line_id, []).append(bundle)
        rating = rate_lines(by_line, bundles, len(ids))
        drawn, refused = rating.drawn_kb, rating.refused_kb
        for i in fresh:
            if line_ids[i] in stopped:
                refused[i] = kbs[i]
        usage_store.write_usage(
            [(ids[i], line_ids[i], kbs[i], starts[i], batch.ends[i], drawn[i], refused[i]) for i in fresh],
            at,
        )
        usage_store.save_bundles(locked, rating.bundles)
        usage_store.write_threshold_events(rating.threshold_events, at)
        notifications.bundles_crossed([(b, p) for _, b, p in rating.threshold_events], at)
    return _result(batch, stored, drawn, refused, stopped={i for i in fresh if line_ids[i] in stopped})


def _result(
    batch: _Batch,
    stored: Mapping[str, tuple[int, int]],
    drawn: list[int],
    refused: list[int],
    *,
    stopped: set[int],
) -> UsageResult:
    ids = batch.ids
    if not stored and not stopped and len(set(ids)) == len(ids):  # the usual batch: every record rated
        return UsageResult(len(ids), 0, sum(refused), ids, ["rated"] * len(ids), drawn, refused)
    statuses: list[str] = []
    drawn_out: list[int] = []
    refused_out: list[int] = []
    first: dict[str, int] = {}
    duplicates = refused_kb = 0
    for index, record_id in enumerate(ids):
        if record_id in stored:
            duplicates += 1
            was_drawn, was_refused = stored[record_id]
            statuses.append("duplicate")
            drawn_out.append(was_drawn)
            refused_out.append(was_refused)
            continue
        origin = first.setdefault(record_id, index)
        if origin != index:
            duplicates += 1
            statuses.append("duplicate")
        else:
            statuses.append("refused" if index in stopped else "rated")
            refused_kb += refused[index]
        drawn_out.append(drawn[origin])
        refused_out.append(refused[origin])
    return UsageResult(len(ids) - duplicates, duplicates, refused_kb, ids, statuses, drawn_out, refused_out)
