"""Through a transaction-mode pooler (TOPUP_DATABASE_POOLER=transaction): no named prepared statement is left
on a server session, no server-side cursor is declared; a request that cannot be retried safely answers 503
with Retry-After and a stable code in the caller's language; the worker outlasts a failover."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection
from django.test import Client

from tests.integration.conftest import Carriers
from tests.integration.test_failover_retries import failing_at, lost, top_up
from tests.support import fake_payments
from topup.channels.db_failover import CODE, retry_is_safe
from topup.db.config import database_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake(seeded: None) -> Iterator[fake_payments.FakePaymentProvider]:
    with fake_payments.installed() as provider:
        yield provider


def test_the_transaction_pooler_turns_session_features_off() -> None:
    direct = database_settings("postgresql://u@h:6432/topup")
    pooled = database_settings("postgresql://u@h:6432/topup", pooler="transaction")
    assert direct["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}
    assert pooled["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": None}
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    with pytest.raises(RuntimeError):
        database_settings("postgresql://u@h/topup", pooler="session?")


def _prepared_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "transaction_pooler"])
def test_a_top_up_through_a_transaction_pooler_prepares_nothing(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers, pooled: bool
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no pooler")
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    if pooled:
        options.update(database_settings("postgresql://x/y", pooler="transaction")["OPTIONS"])  # type: ignore[arg-type]
    connection.close()  # the next statement connects with these options
    try:
        for n in range(6):  # the hot statements run more than prepare_threshold (5) times on one connection
            assert top_up(fake, f"pooled-{pooled}-{n}", fail_at=10_000, error=lost)
        prepared = _prepared_statements()
    finally:
        options.clear()
        options.update(saved)
        connection.close()
    assert (prepared == 0) is pooled, prepared  # direct: prepared (the test can fail); pooled: none


def test_through_pgbouncer_in_transaction_mode() -> None:
    if shutil.which("pgbouncer") is None:
        pytest.skip("LOUD SKIP: pgbouncer is not installed here (`make cluster-deps` installs it)")
    pytest.skip("pgbouncer is installed but this run does not start it yet (see the report of c13app)")


def test_a_write_that_cannot_be_retried_answers_503_in_the_callers_language(seeded: None) -> None:
    from topup.services import catalogue  # noqa: PLC0415

    client = Client(raise_request_exception=False)
    with failing_at(1, lost, times=100):
        catalogue.clear_cache()  # the database stays away: the retry fails too
        answer = client.get("/api/v1/plans", headers={"Accept-Language": "fr"})
        catalogue.clear_cache()
        page = client.get("/esim", headers={"Accept-Language": "de"})
    assert answer.status_code == 503
    assert answer["Retry-After"] == "2"
    assert answer.json()["error"]["code"] == CODE
    assert "base de données" in answer.json()["error"]["message"]
    assert page.status_code == 503
    assert "Datenbank" in page.content.decode()


def test_which_requests_are_retried() -> None:
    from django.test import RequestFactory  # noqa: PLC0415

    factory = RequestFactory()
    assert retry_is_safe(factory.get("/api/v1/plans"))
    assert retry_is_safe(factory.post("/api/v1/orders", headers={"Idempotency-Key": "k"}))
    assert retry_is_safe(factory.post("/api/v1/payments/webhooks/stripe"))
    assert not retry_is_safe(factory.post("/api/v1/orders"))
    assert not retry_is_safe(factory.post("/my"))


def test_the_worker_keeps_running_through_a_failover(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup import worker  # noqa: PLC0415

    claims: list[int] = []
    running = worker.Worker(threads=1, idle_sleep_s=0.01)
    monkeypatch.setattr(worker, "FAILOVER_PAUSE_S", 0.01)

    def claim(batch: int, lease_s: float) -> list[worker.Claimed]:
        claims.append(batch)
        if len(claims) <= 3:
            raise OperationalError("the server closed the connection")
        running.stop()
        return []

    monkeypatch.setattr(worker, "claim", claim)
    thread = threading.Thread(target=running.run)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert len(claims) == 4  # three failed claims, then one that worked: the worker did not die
