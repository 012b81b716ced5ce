"""Migration 0028 turns a filled order_event table into a partitioned one on PostgreSQL: every row moves into
its month's partition (ids and foreign key kept, the id sequence going on after them), and back again."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from topup.db.models import OrderEvent, PlanRecord
from topup.domain.quotes import make_quote
from topup.services.seed import seed_demo

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no partitions"),
]

PARTITIONING = importlib.import_module("topup.db.migrations.0028_partition_order_events").Migration
BEFORE = [d for d in PARTITIONING.dependencies if d[0] == "topup"]
MONTHS = [datetime(2025, 3, 4, tzinfo=UTC), datetime(2026, 1, 31, 23, 59, tzinfo=UTC), datetime.now(UTC)]


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()


def _partitions() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tableoid::regclass::text FROM order_event ORDER BY id")
        return dict(cursor.fetchall())


def _orphan_event() -> None:
    OrderEvent.objects.create(order_id="ord_nobody", to_status="created", at=MONTHS[2])
    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_existing_events_move_into_their_months() -> None:
    _migrate(BEFORE)
    seed_demo()
    plan = PlanRecord.objects.select_related("network").get(id="proximus-credit-10")
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), "", guessed_network=None)
    # The order as the schema before 0028 has it (the model of today has later columns).
    old_order = MigrationExecutor(connection).loader.project_state(BEFORE).apps.get_model("topup", "Order")
    old_order.objects.create(
        id="ord_old", plan_id=plan.id, network_id=plan.network_id, channel="web", status="delivered",
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        created_at=MONTHS[0], updated_at=MONTHS[0],
    )  # fmt: skip
    ids = [OrderEvent.objects.create(order_id="ord_old", to_status="created", at=at).id for at in MONTHS]
    _migrate([("topup", "0028_partition_order_events")])

    assert _partitions() == {
        ids[0]: "order_event_p202503", ids[1]: "order_event_p202601",
        ids[2]: f"order_event_p{MONTHS[2]:%Y%m}",
    }  # fmt: skip
    newer = OrderEvent.objects.create(order_id="ord_old", to_status="delivered", at=MONTHS[2])
    assert newer.id > ids[-1]
    with pytest.raises(IntegrityError), transaction.atomic():  # the foreign key came along
        _orphan_event()

    _migrate(BEFORE)  # and back: one plain table, the same rows
    assert set(_partitions().values()) == {"order_event"}
    assert sorted(_partitions()) == [*ids, newer.id]
    assert OrderEvent.objects.create(order_id="ord_old", to_status="refunded", at=MONTHS[2]).id > newer.id
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("topup"))
