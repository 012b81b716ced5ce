"""Recording usage batches: exactly once per record id, all-or-nothing on unknown lines, bounded queries."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from topup.clock import new_id, now
from topup.db.models import BundleRecord, Line, LineEvent, NetworkRecord, PlanRecord, UsageRow
from topup.domain.errors import InvalidInput, NotFound
from topup.services.usage import UsageResult, record_usage

pytestmark = pytest.mark.django_db(transaction=True)

PLAN = "esim-7d-5gb"
NETWORK = "topup-esim"
PLAN_KB = 5_120 * 1024
KB = 1024
BASE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def esim_plan(seeded: None) -> str:
    """The 7-day 5 GB eSIM plan, created here when the demo seed does not carry eSIM plans yet."""
    if not PlanRecord.objects.filter(id=PLAN).exists():
        NetworkRecord.objects.get_or_create(id=NETWORK, defaults={"name": "Topup eSIM", "kind": "hosted"})
        PlanRecord.objects.create(
            id=PLAN, network_id=NETWORK, kind="bundle", name="7 days 5 GB", code="E7D", price_minor=999,
            data_mb=5_120, validity_days=7, bundle_start="on_first_use",
        )  # fmt: skip
    return PLAN


_counter = iter(range(10**9))


def make_line(profile_state: str = "enabled") -> Line:
    n = next(_counter)
    at = now()
    return Line.objects.create(
        id=new_id("ln"), network_id=NETWORK, iccid=f"8932{int(time.time_ns()) % 10**12:012d}{n:06d}"[:22],
        profile_state=profile_state, created_at=at, updated_at=at,
    )  # fmt: skip


def make_bundle(
    line: Line, *, expires_in_days: int = 7, data_kb: int = PLAN_KB, used_kb: int = 0, status: str = "active"
) -> BundleRecord:
    active = status == "active"
    return BundleRecord.objects.create(
        id=new_id("bdl"), line=line, plan_id=PLAN, data_kb=data_kb, used_kb=used_kb, validity_days=7,
        purchased_at=BASE - timedelta(days=1), starts_at=BASE - timedelta(days=1) if active else None,
        expires_at=BASE + timedelta(days=expires_in_days) if active else None, status=status,
    )  # fmt: skip


def usage(record_id: str, line: Line, n_bytes: int, minute: int = 0) -> dict[str, object]:
    start = BASE + timedelta(minutes=minute)
    return {
        "id": record_id,
        "iccid": line.iccid,
        "bytes": n_bytes,
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=30)).isoformat(),
    }


def bundle_state() -> list[tuple[str, int, str]]:
    return list(BundleRecord.objects.order_by("id").values_list("id", "used_kb", "status"))


def test_records_sent_twice_are_rated_once(esim_plan: str) -> None:
    line = make_line()
    bundle = make_bundle(line)
    batch = [usage(f"r{i}", line, 10 * KB * KB, minute=i) for i in range(50)]
    first = record_usage(batch)
    assert (first.accepted, first.duplicates, first.refused_kb) == (50, 0, 0)
    after_first = bundle_state()
    second = record_usage(batch)
    assert (second.accepted, second.duplicates, second.refused_kb) == (0, 50, 0)
    assert {r["status"] for r in second.results} == {"duplicate"}
    assert second.results[0]["drawn_kb"] == 10 * KB  # a duplicate repeats the first outcome
    assert bundle_state() == after_first
    assert BundleRecord.objects.get(id=bundle.id).used_kb == 50 * 10 * KB
    assert UsageRow.objects.count() == 50


def test_repeated_id_inside_one_batch_counts_once(esim_plan: str) -> None:
    line = make_line()
    make_bundle(line)
    result = record_usage(
        [usage("same", line, 5 * KB), usage("same", line, 5 * KB), usage("other", line, KB)]
    )
    assert (result.accepted, result.duplicates) == (2, 1)
    assert [r["status"] for r in result.results] == ["rated", "duplicate", "rated"]
    assert BundleRecord.objects.get().used_kb == 6


def test_unknown_iccid_refuses_the_whole_batch(esim_plan: str) -> None:
    line = make_line()
    make_bundle(line)
    before = bundle_state()
    batch = [
        usage("a", line, KB),
        usage("b", line, KB),
        {**usage("c", line, KB), "iccid": "8932000000000000000"},
    ]
    with pytest.raises(NotFound) as caught:
        record_usage(batch)
    assert (caught.value.code, caught.value.field) == ("line_not_found", "records[2].iccid")
    assert UsageRow.objects.count() == 0
    assert bundle_state() == before


def test_imsi_is_not_supported_yet_and_counts_as_unknown_line(esim_plan: str) -> None:
    line = make_line()
    record = usage("a", line, KB)
    del record["iccid"]
    with pytest.raises(NotFound) as caught:
        record_usage([usage("b", line, KB), {**record, "imsi": "206011234567890"}])
    assert (caught.value.code, caught.value.field) == ("line_not_found", "records[1].imsi")
    assert UsageRow.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bytes": -1}, "records[1].bytes"),
        ({"bytes": "12"}, "records[1].bytes"),
        ({"bytes": True}, "records[1].bytes"),
        ({"id": ""}, "records[1].id"),
        ({"id": "x" * 121}, "records[1].id"),
        ({"start": "2026-11-25T09:00:00"}, "records[1].start"),
        ({"end": "yesterday"}, "records[1].end"),
        ({"end": "2026-11-25T08:00:00+00:00"}, "records[1].end"),
    ],
)
def test_invalid_records_are_refused_before_anything_is_read(
    esim_plan: str, change: dict[str, object], field: str
) -> None:
    line = make_line()
    with pytest.raises(InvalidInput) as caught:
        record_usage([usage("a", line, KB), {**usage("b", line, KB), **change}])
    assert (caught.value.code, caught.value.field) == ("invalid_usage_record", field)
    assert UsageRow.objects.count() == 0


def test_soonest_expiring_bundle_is_drawn_first(esim_plan: str) -> None:
    line = make_line()
    later = make_bundle(line, expires_in_days=6)
    sooner = make_bundle(line, expires_in_days=2, data_kb=1000)
    result = record_usage([usage("a", line, 600 * KB), usage("b", line, 600 * KB, minute=1)])
    assert [r["drawn_kb"] for r in result.results] == [600, 600]
    assert BundleRecord.objects.get(id=sooner.id).used_kb == 1000
    assert BundleRecord.objects.get(id=sooner.id).status == "exhausted"
    assert BundleRecord.objects.get(id=later.id).used_kb == 200


def test_pending_bundle_is_activated_at_first_use(esim_plan: str) -> None:
    line = make_line()
    pending = make_bundle(line, status="pending")
    record_usage([usage("a", line, KB, minute=5)])
    bundle = BundleRecord.objects.get(id=pending.id)
    assert (bundle.status, bundle.used_kb) == ("active", 1)
    assert bundle.starts_at == BASE + timedelta(minutes=5)
    assert bundle.expires_at == BASE + timedelta(minutes=5, days=7)


def test_crossing_80_and_100_percent_writes_one_event_each(esim_plan: str) -> None:
    line = make_line()
    bundle = make_bundle(line, data_kb=1000)
    batches = [[usage("a", line, 700 * KB)], [usage("b", line, 150 * KB, 1)], [usage("c", line, 100 * KB, 2)]]
    batches += [[usage("d", line, 100 * KB, 3)], [usage("e", line, 10 * KB, 4)]]
    results = [record_usage(batch) for batch in batches]
    assert [r.refused_kb for r in results] == [0, 0, 0, 50, 10]
    events = list(LineEvent.objects.filter(kind="bundle_threshold").values_list("line_id", "state", "code"))
    assert events == [(line.id, "80", bundle.id), (line.id, "100", bundle.id)]
    assert BundleRecord.objects.get(id=bundle.id).status == "exhausted"


def test_deleted_line_records_are_refused(esim_plan: str) -> None:
    line = make_line(profile_state="deleted")
    live = make_line()
    make_bundle(line)
    make_bundle(live)
    before = {i: u for i, u, _ in bundle_state()}
    result = record_usage([usage("gone", line, 3 * KB), usage("live", live, 2 * KB)])
    assert result.results[0] == {"id": "gone", "status": "refused", "drawn_kb": 0, "refused_kb": 3}
    assert result.results[1]["status"] == "rated"
    assert (result.accepted, result.refused_kb) == (2, 3)
    row = UsageRow.objects.get(id="gone")
    assert (row.kb, row.drawn_kb, row.refused_kb) == (3, 0, 3)
    assert BundleRecord.objects.get(line=line).used_kb == before[BundleRecord.objects.get(line=line).id]


@pytest.mark.parametrize(
    ("n_bytes", "kb"), [(0, 0), (1, 1), (1024, 1), (1025, 2), (10 * 1024 * 1024 + 1, 10241)]
)
def test_bytes_round_up_to_started_kilobytes(esim_plan: str, n_bytes: int, kb: int) -> None:
    line = make_line()
    make_bundle(line)
    result = record_usage([usage("a", line, n_bytes)])
    assert result.results[0]["drawn_kb"] == kb
    assert UsageRow.objects.get(id="a").kb == kb
    assert BundleRecord.objects.get().used_kb == kb


def _traffic(lines: list[Line], count: int, prefix: str) -> list[dict[str, object]]:
    return [usage(f"{prefix}-{i}", lines[i % len(lines)], 50 * KB + i, minute=i % 600) for i in range(count)]


def test_query_count_does_not_grow_with_the_batch(esim_plan: str) -> None:
    small_lines, large_lines = [make_line() for _ in range(20)], [make_line() for _ in range(40)]
    for line in small_lines:
        make_bundle(line, data_kb=60)  # one record of ~50 kB: crosses 80 %
    for line in large_lines:
        make_bundle(line, data_kb=3000)  # 50 records of ~50 kB: crosses 80 %
    with CaptureQueriesContext(connection) as small:
        record_usage(_traffic(small_lines, 20, "s"))
    with CaptureQueriesContext(connection) as large:
        result = record_usage(_traffic(large_lines, 2000, "l"))
    assert result.accepted == 2000
    assert LineEvent.objects.filter(kind="bundle_threshold", state="80").count() == 60
    print(f"\nqueries: 20 records -> {len(small)}, 2000 records -> {len(large)} ({connection.vendor})")
    assert len(large) < 20
    assert len(large) == len(small)


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite serialises writers; the race needs PostgreSQL"
)
def test_concurrent_batches_rate_each_record_once(esim_plan: str) -> None:
    lines = [make_line() for _ in range(10)]
    for line in lines:
        make_bundle(line)
    batch = _traffic(lines, 500, "c")
    barrier = threading.Barrier(4)
    outcomes: list[UsageResult] = []

    def post() -> None:
        try:
            barrier.wait()
            outcomes.append(record_usage(batch))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4
    assert sum(o.accepted for o in outcomes) == 500
    assert sum(o.duplicates for o in outcomes) == 3 * 500
    assert UsageRow.objects.count() == 500
    total_kb = sum(-(-int(str(r["bytes"])) // KB) for r in batch)
    assert sum(BundleRecord.objects.values_list("used_kb", flat=True)) == total_kb


@pytest.fixture
def bench_lines(esim_plan: str) -> list[Line]:
    lines = [make_line() for _ in range(200)]
    BundleRecord.objects.bulk_create(
        BundleRecord(
            id=new_id("bdl"), line=line, plan_id=PLAN, data_kb=10**9, validity_days=7,
            purchased_at=BASE - timedelta(days=1), starts_at=BASE - timedelta(days=1),
            expires_at=BASE + timedelta(days=6), status="active",
        )
        for line in lines
    )  # fmt: skip
    return lines


def test_rating_throughput_is_measured(bench_lines: list[Line]) -> None:
    """Not a pass/fail timing: prints records/s for 20 batches of 5,000 records, for the notes."""
    batches = [_traffic(bench_lines, 5000, f"b{n}") for n in range(20)]
    started = time.perf_counter()
    accepted = sum(record_usage(batch).accepted for batch in batches)
    elapsed_s = time.perf_counter() - started
    assert accepted == 100_000
    rate = accepted / elapsed_s
    print(f"\nrated {accepted} records in {elapsed_s:.2f} s: {rate:,.0f} records/s ({connection.vendor})")
