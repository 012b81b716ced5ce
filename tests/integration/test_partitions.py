"""Time partitions on PostgreSQL (issue #13): order events, ledger transfers (by their id's time) and usage
records are partitioned by month, rows land in their month, the upkeep makes months ahead and detaches old
ones once (never a month an unfinished order or the ledger's roll-up still needs), archived months are
dumped with COPY. Jobs are partitioned too (their months dropped, not archived: test_job_keys).

Each test runs in a transaction that is rolled back, DDL included (PostgreSQL's DDL is transactional)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from topup.db import ledger, partitions
from topup.db.models import Order, OrderEvent, PlanRecord
from topup.domain.ids import format_id
from topup.domain.ledger import Posting, provider_clearing, vat_payable
from topup.domain.money import Money
from topup.domain.quotes import make_quote
from topup.services import partition_upkeep
from topup.services.seed import seed_demo

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no partitions"),
]
PLAN = "proximus-credit-10"


def _order(order_id: str, status: str, at: datetime) -> None:
    plan = PlanRecord.objects.select_related("network").get(id=PLAN)
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), "", guessed_network=None)
    Order.objects.create(
        id=order_id, plan=plan, network=plan.network, channel="web", status=status,
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        created_at=at, updated_at=at,
    )  # fmt: skip


def _event(order_id: str, at: datetime) -> OrderEvent:
    return OrderEvent.objects.create(order_id=order_id, from_status="", to_status="created", at=at)


def _where(event: OrderEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM order_event WHERE id = %s", [event.id])
        return str(cursor.fetchone()[0])


def _attached() -> set[str]:
    return {p.name for p in partitions.status() if p.state in ("attached", "default")}


def _primary_key(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'p'",
            [table],
        )
        return str(cursor.fetchone()[0])


def test_order_events_ledger_transfers_usage_and_jobs_are_partitioned() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT partrelid::regclass::text, partstrat FROM pg_partitioned_table")
        found = dict(cursor.fetchall())
    assert found == {"order_event": "r", "ledger_transfer": "r", "usage_record": "r", "job": "r"}
    assert _primary_key("order_event") == "PRIMARY KEY (id, at)"
    assert _primary_key("ledger_transfer") == "PRIMARY KEY (id, booked_at)"
    assert _primary_key("usage_record") == "PRIMARY KEY (id, start)"
    assert _primary_key("job") == "PRIMARY KEY (id, created_at)"
    ahead = partitions.month_start(datetime.now(UTC), 3)
    assert {
        "order_event_default", partitions.partition_name("order_event", ahead),
        "ledger_transfer_default", partitions.partition_name("ledger_transfer", ahead),
        "job_default", partitions.partition_name("job", ahead),
    } <= _attached()  # fmt: skip


def test_rows_land_in_their_months_partition_or_the_default() -> None:
    seed_demo()
    now = datetime.now(UTC)
    _order("ord_part_1", "delivered", now)
    this_month = _event("ord_part_1", now)
    next_month = _event("ord_part_1", partitions.month_start(now, 1))
    far = _event("ord_part_1", datetime(2099, 1, 1, tzinfo=UTC))
    assert _where(this_month) == partitions.partition_name("order_event", partitions.month_start(now))
    assert _where(next_month) == partitions.partition_name("order_event", partitions.month_start(now, 1))
    assert _where(far) == "order_event_default"
    assert next_month.id > this_month.id  # the id keeps its sequence
    assert list(Order.objects.get(id="ord_part_1").events.values_list("id", flat=True)) == [
        this_month.id, next_month.id, far.id,
    ]  # fmt: skip


def test_upkeep_makes_months_ahead_and_takes_rows_out_of_the_default() -> None:
    seed_demo()
    later = datetime(2031, 5, 17, tzinfo=UTC)
    _order("ord_part_2", "delivered", later)
    waiting = _event("ord_part_2", later)
    assert _where(waiting) == "order_event_default"

    made = partitions.ensure_months(later, 3)

    tables = ("order_event", "ledger_transfer", "usage_record", "job")
    assert made == [f"{table}_p2031{month:02}" for table in tables for month in (5, 6, 7, 8)]
    assert _where(waiting) == "order_event_p203105"
    assert partitions.ensure_months(later, 3) == []  # idempotent
    assert OrderEvent.objects.filter(order_id="ord_part_2").count() == 1


def test_the_rows_leave_the_default_in_the_statement_that_copies_them_under_its_lock() -> None:
    """Two statements (copy, then delete) would delete uncopied a row added to the default between them."""
    seed_demo()
    later = datetime(2032, 2, 10, tzinfo=UTC)
    _order("ord_part_5", "delivered", later)
    waiting = _event("ord_part_5", later)
    with CaptureQueriesContext(connection) as queries:
        partitions.ensure_months(later, 0)
    touching = [
        q["sql"] for q in queries if "order_event_default" in q["sql"] and "SELECT DISTINCT" not in q["sql"]
    ]
    assert touching[0] == "LOCK TABLE order_event_default IN ACCESS EXCLUSIVE MODE"
    assert touching[1].startswith("WITH moved AS (DELETE FROM order_event_default WHERE")
    assert "INSERT INTO order_event_p203202 SELECT * FROM moved" in touching[1]
    assert not [sql for sql in touching[2:] if "DELETE" in sql or "INSERT" in sql]
    assert _where(waiting) == "order_event_p203202"


def test_old_months_are_detached_unless_an_unfinished_order_needs_them(tmp_path: Path) -> None:
    seed_demo()
    long_ago, later = datetime(2024, 3, 9, tzinfo=UTC), datetime(2024, 4, 9, tzinfo=UTC)
    _order("ord_done", "delivered", long_ago)
    _order("ord_stuck", "delivering", later)
    partitions.ensure_months(long_ago, 1)
    _event("ord_done", long_ago)
    _event("ord_stuck", later)
    with connection.cursor() as cursor:  # the rows' foreign keys checked now, not at this test's end
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    at = datetime(2026, 6, 15, tzinfo=UTC)  # 24 months after: March and April 2024 are old enough

    detached = partitions.detach_old(at, 24)

    assert "order_event_p202403" in detached
    assert "order_event_p202404" not in detached  # ord_stuck is not final: its history stays
    assert "order_event_p202403" not in _attached()
    assert "order_event_p202404" in _attached()
    assert partitions.detach_old(at, 24) == []  # idempotent
    assert partitions.detach_old(at, 0) == []  # 0: never
    assert not OrderEvent.objects.filter(order_id="ord_done").exists()
    archived = {p.name for p in partitions.status() if p.state == "archived"}
    assert "order_event_p202403" in archived

    dumped = partitions.archive_to(tmp_path, drop=True)

    by_name = {name: (rows, path) for name, rows, path in dumped}
    rows, path = by_name["order_event_p202403"]
    assert rows == 1
    with path.open() as dump:
        lines = list(csv.DictReader(dump))
    assert [(line["order_id"], line["to_status"]) for line in lines] == [("ord_done", "created")]
    assert not [p for p in partitions.status() if p.state == "archived"]


def test_the_worker_sweep_runs_the_upkeep_at_most_hourly() -> None:
    first = partition_upkeep.sweep(force=True)
    assert first is not None
    assert first["detached"] == []
    assert partition_upkeep.sweep() is None  # ran less than an hour ago in this process


def _transfer_at(at: datetime, name: str) -> str:
    transfer_id = f"{format_id('ord', int(at.timestamp() * 1000), 7)}:{name}"
    with transaction.atomic():
        ledger.post(
            [Posting(transfer_id, provider_clearing("stripe"), vat_payable(), Money(10, "EUR"), "t")], now=at
        )
    return transfer_id


def _transfer_where(transfer_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM ledger_transfer WHERE id = %s", [transfer_id])
        return str(cursor.fetchone()[0])


def test_transfers_land_in_their_ids_month_and_a_month_waiting_for_the_roll_up_stays() -> None:
    seed_demo()
    march, april = datetime(2024, 3, 9, tzinfo=UTC), datetime(2024, 4, 9, tzinfo=UTC)
    partitions.ensure_months(march, 1)
    rolled = _transfer_at(march, "capture")
    assert ledger.roll_up() >= 1
    waiting = _transfer_at(april, "capture")  # rollup_pending: its accounts' totals still lack it
    assert _transfer_where(rolled) == "ledger_transfer_p202403"
    assert _transfer_where(waiting) == "ledger_transfer_p202404"
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    detached = partitions.detach_old(datetime(2026, 6, 15, tzinfo=UTC), 24)

    assert "ledger_transfer_p202403" in detached
    assert "ledger_transfer_p202404" not in detached
    assert "ledger_transfer_p202404" in _attached()
    assert {p.table for p in partitions.status() if p.state == "archived"} >= {"ledger_transfer"}
