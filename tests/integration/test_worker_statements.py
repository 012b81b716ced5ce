"""The worker's statements per delivered top-up: the claim of a batch of `deliver` jobs, the batch (carrier
calls, one settling transaction), and the claim and run of the receipts' `notify` jobs. Bounds only go down:
a change that adds a round trip per delivery to the worker's hot path fails here."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.integration.conftest import Carriers
from tests.integration.test_delivery_batch import BASE, paid, status
from tests.integration.test_hot_path_statements import Counted, counted
from topup import worker
from topup.db.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = 6
# For the ORDERS deliveries of one claim. Before issue #12's second round (SQLite): claim 7, batch 44
# (a plan read, a ledger savepoint, insert, release, account read and check per order), notify claim 4.
CLAIM_MAX = 5  # due jobs read, leased; the orders started: their keys, UPDATE, history
BATCH_MAX = 13  # SQLite; PostgreSQL also takes the orders' advisory locks in one statement
NOTIFY_CLAIM_MAX = 2
NOTIFY_PER_DELIVERY_MAX = 2  # the order with its number's preferences, the job marked done


def _ours(seen: Counted) -> list[str]:
    """Without PostgreSQL's wake-ups (NOTIFY), which SQLite does not send."""
    return [s for s in seen.sql if "pg_notify" not in s]


@pytest.mark.usefixtures("seeded")
def test_the_worker_stays_within_its_statement_budget_per_delivery(carriers: Carriers) -> None:
    orders = [paid(BASE, number=f"+3248612345{i}") for i in range(ORDERS)]

    claimed, claim = counted(lambda: worker.claim(50, lease_s=30))
    assert len(claimed) == ORDERS
    kept, batch = counted(lambda: worker.run_deliveries(claimed))
    assert kept
    assert [status(order_id) for order_id in orders] == ["delivered"] * ORDERS
    notify_jobs, notify_claim = counted(lambda: worker.claim(50, lease_s=30))
    assert sorted(job.kind for job in notify_jobs) == ["notify"] * ORDERS
    _done, notify_run = counted(lambda: [worker.run_one(*job) for job in notify_jobs])
    assert Job.objects.filter(kind="notify", status="done").count() == ORDERS

    per = {
        "claim": len(_ours(claim)),
        "batch": len(_ours(batch)),
        "notify claim": len(_ours(notify_claim)),
        "notify run": len(_ours(notify_run)),
    }
    print(f"{connection.vendor} statements for {ORDERS} deliveries: {per}")
    assert per["claim"] <= CLAIM_MAX, claim.sql
    assert per["batch"] <= BATCH_MAX + (connection.vendor == "postgresql"), batch.sql
    assert per["notify claim"] <= NOTIFY_CLAIM_MAX, notify_claim.sql
    assert per["notify run"] <= NOTIFY_PER_DELIVERY_MAX * ORDERS, notify_run.sql
