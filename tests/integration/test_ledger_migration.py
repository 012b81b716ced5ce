"""Migration 0026 leaves an existing ledger consistent: money still held on an old per-order in-flight account
moves, under its order's id, onto the one orders-in-flight account; settled ones stay as history at zero."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from topup.clock import now
from topup.db import ledger
from topup.domain.errors import LedgerError
from topup.domain.ledger import Posting, orders_in_flight, provider_clearing, vat_payable
from topup.domain.money import Money

pytestmark = pytest.mark.django_db(transaction=True)

ROLLUP = importlib.import_module("topup.db.migrations.0026_ledger_rollup").Migration
BEFORE = [d for d in ROLLUP.dependencies if d[0] == "topup"]
AT = datetime(2026, 11, 1, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _old_books(executor: MigrationExecutor) -> None:
    """Two orders paid by the old code: ord_01KBAR… still in flight, ord_02 delivered (all totals applied)."""
    apps = executor.loader.project_state(BEFORE).apps
    account, transfer = apps.get_model("topup", "Account"), apps.get_model("topup", "Transfer")
    for id_, type_, no_overdraft, debits, credits in [
        ("provider_clearing:stripe:EUR", "asset", False, 2000, 0),
        ("in_flight:ord_01kbar0000000000000000abcd:EUR", "liability", True, 0, 1000),
        ("in_flight:ord_02:EUR", "liability", True, 1000, 1000),
        ("vat_payable:EUR", "liability", False, 0, 1000),
    ]:
        account.objects.create(
            id=id_, name=id_, type=type_, currency="EUR", no_overdraft=no_overdraft,
            debits_posted=debits, credits_posted=credits,
        )  # fmt: skip
    for id_, debit, credit, order_id in [
        (
            "ord_01KBAR0000000000000000ABCD:capture",
            "provider_clearing:stripe:EUR",
            "in_flight:ord_01kbar0000000000000000abcd:EUR",
            "ord_01KBAR0000000000000000ABCD",
        ),
        ("ord_02:capture", "provider_clearing:stripe:EUR", "in_flight:ord_02:EUR", "ord_02"),
        ("ord_02:deliver:vat", "in_flight:ord_02:EUR", "vat_payable:EUR", "ord_02"),
    ]:
        transfer.objects.create(
            id=id_, debit_account_id=debit, credit_account_id=credit, amount_minor=1000, currency="EUR",
            status="posted", code="t", order_id=order_id, created_at=AT, resolved_at=AT,
        )  # fmt: skip


def test_money_held_on_per_order_accounts_moves_to_orders_in_flight() -> None:
    executor = _migrate(BEFORE)
    _old_books(executor)
    _migrate(executor.loader.graph.leaf_nodes("topup"))

    assert ledger.in_flight("ord_01KBAR0000000000000000ABCD") == 1000
    assert ledger.in_flight("ord_02") == 0
    assert ledger.balance_of("in_flight:ord_01kbar0000000000000000abcd:EUR") == 0  # kept as history, settled
    assert ledger.balance_of(orders_in_flight().id) == 1000
    assert ledger.balance_of(provider_clearing("stripe").id) == 2000
    assert ledger.balance_of(vat_payable().id) == 1000
    assert all(t.balanced for t in ledger.trial_balance())
    assert ledger.roll_up() == 0  # the old transfers were all in the totals already

    refund = Posting(
        "ord_01KBAR0000000000000000ABCD:refund", orders_in_flight(), provider_clearing("stripe"),
        Money(1000, "EUR"),
        "refund_issued", hold="ord_01KBAR0000000000000000ABCD",
    )  # fmt: skip
    with transaction.atomic():
        ledger.post([refund], now=now(), order_id="ord_01KBAR0000000000000000ABCD")
    again = Posting(
        "ord_01KBAR0000000000000000ABCD:again",
        orders_in_flight(),
        vat_payable(),
        Money(1, "EUR"),
        "t",
        hold="ord_01KBAR0000000000000000ABCD",
    )
    with pytest.raises(LedgerError) as caught, transaction.atomic():
        ledger.post([again], now=now(), order_id="ord_01KBAR0000000000000000ABCD")
    assert caught.value.code == "insufficient_funds"
    assert ledger.in_flight("ord_01KBAR0000000000000000ABCD") == 0
    assert ledger.roll_up() == 1
    assert ledger.balance_of(provider_clearing("stripe").id) == 1000
    assert all(t.balanced for t in ledger.trial_balance())
