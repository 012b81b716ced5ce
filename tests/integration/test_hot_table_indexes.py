"""Migration 0027: the hot tables keep no `_like` index that no query reads, and the placement's
once-per-customer read goes through an index instead of reading the whole redemption table."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Q

from topup.db.models import Redemption

pytestmark = pytest.mark.django_db(transaction=True)

HOT_INDEXES = importlib.import_module("topup.db.migrations.0027_hot_table_indexes")
TABLES = sorted({table for table, _column, _name in HOT_INDEXES.UNREAD_LIKE_INDEXES})
ACCOUNT_PREFIX_INDEXES = {  # the reconciliation matches account ids by prefix
    "ledger_transfer_credit_account_id_e98dc457_like",
    "ledger_transfer_debit_account_id_4ee5177d_like",
}
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's _like indexes")


def _pattern_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s) AND indexdef LIKE %s",
            [[*TABLES, "ledger_transfer"], "%pattern_ops%"],
        )
        return {row[0] for row in cursor.fetchall()}


@postgres_only
def test_hot_tables_keep_only_the_prefix_indexes_that_are_read() -> None:
    assert _pattern_indexes() == ACCOUNT_PREFIX_INDEXES


@postgres_only
def test_the_migration_goes_back_and_forth() -> None:
    before = [d for d in HOT_INDEXES.Migration.dependencies if d[0] == "topup"]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    names = {name for _table, _column, name in HOT_INDEXES.UNREAD_LIKE_INDEXES}
    assert _pattern_indexes() == names | ACCOUNT_PREFIX_INDEXES
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert _pattern_indexes() == ACCOUNT_PREFIX_INDEXES


@postgres_only
def test_the_once_per_customer_read_uses_the_customer_index() -> None:
    once = Q(campaign__once_per_customer=True) | Q(campaign__rule="first_topup")
    counted = Redemption.objects.filter(once, counted=True, customer_index__in=["a" * 64])
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # an empty table: make the planner show what it could use
        try:
            plan = counted.values_list("campaign_id", flat=True).explain()
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "redemption_counted_customer" in plan, plan
