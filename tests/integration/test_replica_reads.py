"""Reads that may lag go to the replica only where they opted in, and never before the replica has the
caller's own last write. The "replica" here is a second alias to the same test database: the queries each
alias ran say where a read went, and a replica that lags is simulated by its replay check answering no."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.support import fake_payments
from topup.channels.db_failover import WROTE_COOKIE
from topup.db import router
from topup.db.config import REPLICA
from topup.services import catalogue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def replica(seeded: None) -> Iterator[None]:
    primary = connections["default"].settings_dict
    connections.settings[REPLICA] = {**copy.deepcopy(primary), "TEST": {"MIRROR": "default"}}
    connections[REPLICA].connect()  # pytest-django refuses to open one to an alias it was not told of
    try:
        yield
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


@pytest.fixture
def fake(replica: None) -> Iterator[fake_payments.FakePaymentProvider]:
    with fake_payments.installed() as provider:
        yield provider


def reads(action: Any) -> tuple[Any, int, int]:
    """(result, statements on the primary, statements on the replica)"""
    catalogue.clear_cache()
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        result = action()
    return result, len(primary), len(replica)


def place(client: Client) -> dict[str, Any]:
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"}
    answer = client.post(
        "/api/v1/orders", data=json.dumps(body), content_type="application/json",
        headers={"Idempotency-Key": "replica-1"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    placed: dict[str, Any] = answer.json()
    return placed


def test_only_opted_in_reads_go_to_the_replica(fake: fake_payments.FakePaymentProvider) -> None:
    client = Client()
    answer, on_primary, on_replica = reads(lambda: client.get("/api/v1/plans"))
    assert answer.status_code == 200
    assert (on_primary, on_replica) == (0, 2)  # networks and plans, from the replica

    placed = place(client)
    token = {"X-Order-Token": placed["order_token"]}
    order, on_primary, on_replica = reads(lambda: client.get(f"/api/v1/orders/{placed['id']}", headers=token))
    assert order.status_code == 200
    assert on_replica == 0  # an order is never read from the replica
    assert on_primary >= 1


def test_a_customer_who_just_wrote_reads_the_primary_until_the_replica_has_it(
    fake: fake_payments.FakePaymentProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    placed = place(client)  # a write: its WAL position is kept in a signed cookie
    assert client.cookies[WROTE_COOKIE].value

    monkeypatch.setattr(router, "replica_replayed", lambda position: False)  # the replica lags
    _, on_primary, on_replica = reads(lambda: client.get("/api/v1/plans"))
    assert (on_primary, on_replica) == (2, 0)
    token = {"X-Order-Token": placed["order_token"]}
    page, _, on_replica = reads(lambda: client.get(f"/orders/{placed['id']}/status", headers=token))
    assert page.status_code == 200
    assert on_replica == 0

    monkeypatch.undo()  # caught up (the same database: it has everything)
    _, on_primary, on_replica = reads(lambda: client.get("/api/v1/plans"))
    assert on_replica >= 2  # the check (PostgreSQL) and the two reads


def test_a_replica_that_does_not_answer_is_passed_over(
    fake: fake_payments.FakePaymentProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError  # noqa: PLC0415

    def down(position: str) -> bool:
        raise OperationalError("replica unreachable")

    client = Client()
    place(client)
    monkeypatch.setattr(router, "replica_replayed", down)
    answer, on_primary, on_replica = reads(lambda: client.get("/api/v1/plans"))
    assert answer.status_code == 200
    assert (on_primary, on_replica) == (2, 0)


def test_without_a_replica_everything_reads_the_primary(seeded: None) -> None:
    assert not router.has_replica()
    with router.replica_reads() as from_replica:
        assert from_replica is False
