"""50 concurrent sales against a float that covers 10: exactly 10 sales, never below minus the credit."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.support.race import at_once
from tests.support.retail import float_of, shop
from topup.db import ledger
from topup.db.models import Sale, ShiftMovement, Voucher
from topup.domain import ledger as postings
from topup.services.retail import SaleRequest, sell
from topup.services.retail_voids import void

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_sales_make_exactly_ten(seeded: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): the race needs PostgreSQL")
    # Each €10 Proximus PIN costs the float €9.70 (3 % commission): €50 float + €47 credit cover ten.
    terminals = [terminal for terminal, _ in shop(float_minor=5_000, credit_minor=4_700, terminals=5)]
    jobs = [(terminals[n % 5], f"race-{n}") for n in range(50)]

    def one(job: tuple[str, str]) -> str:
        terminal, ref = job
        return str(sell(terminal, SaleRequest(ref, "proximus-credit-10", "pin")).status)

    outcomes = at_once(one, jobs)
    assert sorted(set(outcomes)) == ["201", "float_insufficient"]
    assert outcomes.count("201") == 10
    assert float_of(terminals[0]) == -4_700
    assert Sale.objects.count() == 10
    assert Voucher.objects.count() == 10
    assert ShiftMovement.objects.count() == 10
    retailer_id = Sale.objects.values_list("retailer_id", flat=True).first()
    assert ledger.balance_of(postings.retailer_float(str(retailer_id)).id) == -4_700
    assert all(t.balanced for t in ledger.trial_balance())


def test_the_same_sale_sent_ten_times_at_once_sells_once(seeded: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): the race needs PostgreSQL")
    [(terminal, _)] = shop()
    request = SaleRequest("twin", "proximus-credit-10", "pin", cash_given_minor=2_000)
    answers: list[dict[str, object]] = []

    def one(_: int) -> str:
        result = sell(terminal, request)
        answers.append(result.document)
        return str(result.status)

    outcomes = at_once(one, list(range(10)))
    assert sorted(outcomes) == ["200"] * 9 + ["201"]
    assert Sale.objects.count() == 1
    assert float_of(terminal) == 10_000 - 970
    assert all(answer == answers[0] for answer in answers)


def test_voids_and_sales_at_once_never_deadlock_and_keep_the_books(seeded: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): the race needs PostgreSQL")
    terminals = [terminal for terminal, _ in shop(float_minor=100_000, terminals=4)]
    for n, terminal in enumerate(terminals):
        sell(terminal, SaleRequest(f"first-{n}", "proximus-credit-10", "direct", msisdn="+32470123456"))

    def one(job: tuple[str, int]) -> str:
        action, n = job
        if action == "void":
            return str(void(terminals[n], f"first-{n}")["status"])
        request = SaleRequest(f"second-{n}", "proximus-credit-10", "direct", msisdn="+32470123456")
        return str(sell(terminals[n], request).status)

    outcomes = at_once(one, [(action, n) for n in range(4) for action in ("void", "sell")])
    assert sorted(outcomes) == ["201"] * 4 + ["voided"] * 4
    assert float_of(terminals[0]) == 100_000 - 4 * 970
    retailer_id = Sale.objects.values_list("retailer_id", flat=True).first()
    assert ledger.balance_of(postings.retailer_float(str(retailer_id)).id) == float_of(terminals[0])
    assert all(t.balanced for t in ledger.trial_balance())
