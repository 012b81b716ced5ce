"""`POST /api/v1/usage` in full batches: the body read by hand, COPY on PostgreSQL, exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.integration.test_usage import KB, esim_plan, make_bundle, make_line, usage  # noqa: F401
from topup.channels.api.auth import create_key
from topup.channels.api.usage_body import MAX_USAGE_BODY_BYTES
from topup.db.models import BundleRecord, Line, UsageRow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def post(esim_plan: str) -> object:  # noqa: F811
    key = create_key(["usage:write"], name="usage-api")

    def send(body: bytes | dict[str, object]) -> tuple[int, dict[str, object]]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = Client().post(
            "/api/v1/usage", raw, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
        )
        return response.status_code, json.loads(response.content)

    return send


def _records(line: Line, prefix: str, n: int, n_bytes: int = KB) -> list[dict[str, object]]:
    return [usage(f"{prefix}{i}", line, n_bytes, minute=i % 600) for i in range(n)]


def test_a_malformed_record_in_a_full_batch_is_named_and_changes_nothing(post) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    bundle = make_bundle(line)
    records = _records(line, "m", 10_000)
    records[7_777] = {**records[7_777], "bytes": -5}
    status, body = post({"records": records})
    assert status == 400
    assert body["error"] == {**body["error"], "code": "invalid_usage_record", "field": "records[7777].bytes"}
    records[7_777] = {**records[7_777], "bytes": 5, "end": "2026-11-25T08:00:00+00:00"}  # before its start
    status, body = post({"records": records})
    assert (status, body["error"]["field"]) == (400, "records[7777].end")
    assert UsageRow.objects.count() == 0
    assert BundleRecord.objects.get(id=bundle.id).used_kb == 0


def test_a_full_batch_is_rated_and_resent_as_duplicates(post) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    bundle = make_bundle(line)
    records = _records(line, "f", 10_000)
    with CaptureQueriesContext(connection) as queries:
        status, body = post({"records": records})
    assert (status, body["accepted"], body["duplicates"]) == (200, 10_000, 0)
    if connection.vendor == "postgresql":  # the rows went in by COPY, not by an INSERT statement
        assert not [q for q in queries.captured_queries if "INSERT INTO usage_record" in q["sql"]]
    assert BundleRecord.objects.get(id=bundle.id).used_kb == 10_000
    status, body = post({"records": records})
    assert (status, body["accepted"], body["duplicates"]) == (200, 0, 10_000)
    assert {r["drawn_kb"] for r in body["results"]} == {1}  # what the first time recorded
    assert BundleRecord.objects.get(id=bundle.id).used_kb == 10_000
    assert UsageRow.objects.count() == 10_000


def test_batches_that_overlap_charge_each_record_once(post) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    bundle = make_bundle(line)
    first, second = _records(line, "o", 10), _records(line, "o", 15)[5:]
    assert post({"records": first})[1]["accepted"] == 10
    status, body = post({"records": [*second, second[0]]})  # r5..r14, then r5 again in the same batch
    assert (status, body["accepted"], body["duplicates"]) == (200, 5, 6)
    assert [r["status"] for r in body["results"]] == ["duplicate"] * 5 + ["rated"] * 5 + ["duplicate"]
    assert BundleRecord.objects.get(id=bundle.id).used_kb == 15
    assert UsageRow.objects.count() == 15


def test_a_batch_that_would_overdraw_a_bundle_refuses_the_rest(post) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    bundle = make_bundle(line, data_kb=100, used_kb=40)
    status, body = post({"records": _records(line, "d", 5, n_bytes=30 * KB)})  # 150 kB into 60 kB left
    assert (status, body["accepted"], body["refused_kb"]) == (200, 5, 90)
    assert [(r["drawn_kb"], r["refused_kb"]) for r in body["results"]] == [(30, 0), (30, 0), (0, 30)] + [
        (0, 30)
    ] * 2
    stored = BundleRecord.objects.get(id=bundle.id)
    assert (stored.used_kb, stored.status) == (100, "exhausted")
    assert sum(UsageRow.objects.values_list("drawn_kb", flat=True)) == 60


@pytest.mark.parametrize(
    "record_id", ["tab\there", "back\\slash", "new\nline", "quote\"'", "话单-1", "x" * 120]
)
def test_an_id_with_any_characters_is_stored_as_sent(post, record_id: str) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    make_bundle(line)
    status, body = post({"records": [usage(record_id, line, KB), usage("plain", line, KB)]})
    assert (status, body["accepted"]) == (200, 2)
    assert set(UsageRow.objects.values_list("id", flat=True)) == {record_id, "plain"}
    assert post({"records": [usage(record_id, line, KB)]})[1]["duplicates"] == 1


def test_bodies_the_fast_reader_does_not_take_get_the_usual_refusals(post) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    make_bundle(line)
    escaped = json.dumps({"records": [usage("caf\u00e9", line, KB)]}, ensure_ascii=True).encode()
    assert b"\\u00e9" in escaped
    assert post(escaped)[0] == 200  # an escape takes the full reader, and is read the same
    nul = json.dumps({"records": [usage("a\u0000b", line, KB)]}).encode()
    assert post(nul) == (400, {"error": {**post(nul)[1]["error"], "code": "invalid_character"}})
    deep = b'{"records": [' + json.dumps(usage("deep", line, KB)).encode()[:-1] + b', "x": ' + b"[" * 40
    deep += b"]" * 40 + b"}]}"
    assert post(deep)[1]["error"]["code"] == "json_too_deep"
    assert post(b'{"records": [')[1]["error"]["code"] == "invalid_json"
    assert post({"records": []})[1]["error"]["code"] == "invalid_usage_record"
    assert post({"records": {"id": "x"}})[1]["error"]["code"] == "invalid_usage_record"
    huge = json.dumps({"records": _records(line, "h" * 115, 10_000)}).encode()
    assert len(huge) > MAX_USAGE_BODY_BYTES
    assert post(huge)[1]["error"]["code"] == "body_too_large"
    assert set(UsageRow.objects.values_list("id", flat=True)) == {"caf\u00e9"}


@pytest.mark.parametrize(
    "start",
    ["2026-11-25T09:00:00+00:00", "2026-11-25T10:30:00.25+01:30", "2026-11-25T09:00Z",
     "2026-W48-3T09:00:00Z", "2026-11-25 09:00:00+00:00", "20261125T090000+0000",
     "2026-11-25T09:00:00-00:00"],
)  # fmt: skip
def test_every_iso_instant_python_reads_is_stored_as_that_instant(post, start: str) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    make_bundle(line)
    record = {**usage("iso", line, KB), "start": start, "end": "2026-11-25T12:00:00+00:00"}
    status, body = post({"records": [record]})
    assert (status, body["accepted"]) == (200, 1), body
    stored = UsageRow.objects.get(id="iso")
    assert stored.start == datetime.fromisoformat(start)
    assert stored.end == datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bytes", 10**30),  # an outsider's number: it would overflow the 64-bit column (a 500 before)
        ("bytes", 2**63 * 1024),
        ("start", "0001-01-01T00:00:00+12:00"),  # its UTC instant lies before year 1 (a 500 before)
        ("end", "9999-12-31T23:59:59-12:00"),  # its UTC instant lies after year 9999 (a 500 before)
    ],
)
def test_a_record_outside_what_can_be_stored_is_refused_by_name(post, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    bundle = make_bundle(line)
    records = _records(line, "o", 3)
    records[1] = {**records[1], field: value}
    if field == "start":
        records[1]["end"] = "0001-01-02T00:00:00+12:00"
    if field == "end":
        records[1]["start"] = "9998-12-31T23:59:00-12:00"
    status, body = post({"records": records})
    assert status == 400
    assert body["error"] == {**body["error"], "code": "invalid_usage_record", "field": f"records[1].{field}"}
    assert UsageRow.objects.count() == 0
    assert BundleRecord.objects.get(id=bundle.id).used_kb == 0


def test_usage_older_than_the_partition_retention_is_refused_in_the_callers_language(esim_plan: str) -> None:  # noqa: F811
    """Its month may be detached already, where a resent copy could not be found: refused, never rated."""
    line = make_line()
    make_bundle(line)
    old = {**usage("old", line, KB), "start": "2020-01-31T23:00:00+00:00", "end": "2020-01-31T23:01:00+00:00"}
    key = create_key(["usage:write"], name="usage-old")
    response = Client().post(
        "/api/v1/usage", json.dumps({"records": [usage("new", line, KB), old]}),
        content_type="application/json", headers={"Authorization": f"Bearer {key}", "Accept-Language": "fr"},
    )  # fmt: skip
    error = json.loads(response.content)["error"]
    assert response.status_code == 400
    assert (error["code"], error["field"]) == ("usage_too_old", "records[1].start")
    assert "trop ancien" in error["message"]
    assert UsageRow.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no partitions")
def test_a_resent_record_lands_on_its_starts_month_and_is_rated_once(post) -> None:  # type: ignore[no-untyped-def]
    line = make_line()
    make_bundle(line)
    record = usage("cdr-1", line, KB)
    assert post({"records": [record]})[1]["accepted"] == 1
    status, body = post({"records": [record]})
    assert (status, body["accepted"], body["duplicates"]) == (200, 0, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, start FROM usage_record WHERE id = 'cdr-1'")
        [(where, start)] = cursor.fetchall()
    assert where in (f"usage_record_p{start:%Y%m}", "usage_record_default")
