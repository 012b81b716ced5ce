"""Migration 0029 turns a filled ledger_transfer table into one partitioned by month of `booked_at` (the time
of the ULID its id starts with) on PostgreSQL: every row moves into its month (an old row whose id holds no
time of ours keeps its creation time), a retried posting still posts once, and back again."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from topup.clock import now
from topup.db import ledger
from topup.domain.errors import LedgerError
from topup.domain.ids import format_id
from topup.domain.ledger import Posting, provider_clearing, vat_payable
from topup.domain.money import Money

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no partitions"),
]

PARTITIONING = importlib.import_module("topup.db.migrations.0029_partition_ledger_transfers").Migration
BEFORE = [d for d in PARTITIONING.dependencies if d[0] == "topup"]
MARCH, JANUARY = datetime(2025, 3, 4, tzinfo=UTC), datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
CAPTURE = f"{format_id('ord', int(MARCH.timestamp() * 1000), 1)}:capture"
LEGACY = "legacy-7:capture"  # no id of ours: written before ids were checked


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()


def _rows() -> dict[str, tuple[str, datetime | None]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tableoid::regclass::text FROM ledger_transfer ORDER BY id")
        where = dict(cursor.fetchall())
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'ledger_transfer' "
            "AND column_name = 'booked_at' AND table_schema = current_schema()"
        )
        if not cursor.fetchone():
            return {key: (table, None) for key, table in where.items()}
        cursor.execute("SELECT id, booked_at FROM ledger_transfer")
        return {key: (where[key], at) for key, at in cursor.fetchall()}


def _old_transfer(transfer_id: str, created_at: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_transfer (id, debit_account_id, credit_account_id, amount_minor, currency, "
            "status, code, created_at, metadata, rollup_pending) VALUES (%s, %s, %s, 10, 'EUR', 'posted', "
            "'t', %s, '{}', true)",
            [transfer_id, provider_clearing("stripe").id, vat_payable().id, created_at],
        )


def test_existing_transfers_move_into_their_ids_months_and_back() -> None:
    _migrate(BEFORE)
    ledger._known_accounts.clear()
    ledger.ensure_accounts([provider_clearing("stripe"), vat_payable()])
    _old_transfer(CAPTURE, JANUARY)  # its month is its id's (March), not its creation's
    _old_transfer(LEGACY, JANUARY)

    _migrate([("topup", "0029_partition_ledger_transfers")])

    assert _rows() == {
        CAPTURE: ("ledger_transfer_p202503", MARCH.replace(microsecond=0)),
        LEGACY: ("ledger_transfer_p202601", JANUARY),
    }
    again = Posting(CAPTURE, provider_clearing("stripe"), vat_payable(), Money(10, "EUR"), "t")
    with pytest.raises(LedgerError) as refused, transaction.atomic():
        ledger.post([again], now=now())
    assert refused.value.code == "duplicate_transfer"
    assert ledger.balance_of(vat_payable().id) == 20

    _migrate(BEFORE)  # and back: one plain table keyed by id, the same rows
    assert _rows() == {CAPTURE: ("ledger_transfer", None), LEGACY: ("ledger_transfer", None)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'ledger_transfer'::regclass AND contype = 'p'"
        )
        assert cursor.fetchone()[0] == "PRIMARY KEY (id)"
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("topup"))


USAGE = importlib.import_module("topup.db.migrations.0030_partition_usage_records").Migration


def test_existing_usage_records_move_into_their_starts_months_and_back() -> None:
    before = [d for d in USAGE.dependencies if d[0] == "topup"]
    _migrate(before)
    with connection.cursor() as cursor:
        for record_id, start in (("cdr-march", MARCH), ("cdr-january", JANUARY)):
            cursor.execute(
                'INSERT INTO usage_record (id, line_id, kb, start, "end", drawn_kb, refused_kb, '
                "charged_minor, rated_at) VALUES (%s, 'ln_x', 1, %s, %s, 1, 0, 0, %s)",
                [record_id, start, start, start],
            )
    _migrate([("topup", "0030_partition_usage_records")])

    def where() -> dict[str, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, tableoid::regclass::text FROM usage_record")
            return dict(cursor.fetchall())

    assert where() == {"cdr-march": "usage_record_p202503", "cdr-january": "usage_record_p202601"}
    _migrate(before)
    assert where() == {"cdr-march": "usage_record", "cdr-january": "usage_record"}
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("topup"))
