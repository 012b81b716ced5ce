"""Through a transaction-mode pooler (TOPUP_DATABASE_POOLER=transaction): no named prepared statement is left
on a server session, no server-side cursor is declared; a request that cannot be retried safely answers 503
with Retry-After and a stable code in the caller's language; the worker outlasts a failover."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import DatabaseError, OperationalError, connection
from django.test import Client

from tests.integration.conftest import Carriers
from tests.integration.test_failover_retries import failing_at, lost, top_up
from tests.support import fake_payments
from tests.support.processes import ROOT, free_port
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


# The order flow, its failover retries and the Stripe journeys: placement, webhooks, the worker's claims and
# deliveries, the order push (LISTEN falls back to polling: no TOPUP_DATABASE_LISTEN_URL).
THROUGH_PGBOUNCER = (
    "tests/integration/test_order_flow.py",
    "tests/integration/test_failover_retries.py",
    "tests/integration/test_stripe_orders.py",
)


def test_through_pgbouncer_in_transaction_mode() -> None:
    """A real PgBouncer 1.18 in transaction mode (no prepared-statement support) in front of this PostgreSQL
    server, and the order flow's tests run through it in a pytest of their own with the pooler's settings:
    a named prepared statement, a server-side cursor or session state would fail them."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no pooler")
    if shutil.which("pgbouncer") is None:
        pytest.skip("LOUD SKIP: pgbouncer is not installed here (`make cluster-deps` installs it)")
    with tempfile.TemporaryDirectory(prefix="topup-pgbouncer-") as folder:
        _through_pgbouncer(Path(folder))


def _through_pgbouncer(tmp_path: Path) -> None:
    server = connection.settings_dict
    port = free_port()
    tmp_path.chmod(0o777)  # pgbouncer drops root for the postgres user: its log and pid files live here
    config = tmp_path / "pgbouncer.ini"
    host, db_port = server["HOST"] or "127.0.0.1", server["PORT"] or 5432
    config.write_text(
        f"[databases]\n* = host={host} port={db_port} user={server['USER']}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = any\n"
        f"pool_mode = transaction\nlogfile = {tmp_path}/pgbouncer.log\npidfile = {tmp_path}/pgbouncer.pid\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        "max_client_conn = 200\ndefault_pool_size = 20\n"
    )
    config.chmod(0o644)
    user = ["-u", "postgres"] if os.geteuid() == 0 else []  # it refuses to run as root
    subprocess.run(["pgbouncer", "-d", *user, str(config)], check=True)
    database = f"{server['NAME'].removeprefix('test_')}_pgbouncer"
    env = {
        # Its own live server: the address this session chose (tests/conftest.py) is taken by this one's.
        **{name: value for name, value in os.environ.items() if name != "DJANGO_LIVE_TEST_SERVER_ADDRESS"},
        "TOPUP_DATABASE_URL": f"postgresql://{server['USER']}@127.0.0.1:{port}/{database}",
        "TOPUP_DATABASE_POOLER": "transaction",
        "TOPUP_DATABASE_LISTEN_URL": "",
    }
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--create-db", "--reuse-db",
             *THROUGH_PGBOUNCER],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
    finally:
        subprocess.run(["kill", (tmp_path / "pgbouncer.pid").read_text().strip()], check=False)
        _drop_when_pgbouncer_is_gone(f"test_{database}")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert " passed" in run.stdout, run.stdout[-2000:]
    assert " failed" not in run.stdout, run.stdout[-2000:]
    assert "prepared statement" not in (tmp_path / "pgbouncer.log").read_text()


def _drop_when_pgbouncer_is_gone(name: str) -> None:
    """Its server connections close as it exits: the test database it reused can then be dropped."""
    with connection.cursor() as cursor:
        for _ in range(50):
            try:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
                return
            except DatabaseError:
                time.sleep(0.2)


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

    from topup.services import idempotency  # noqa: PLC0415

    factory = RequestFactory()
    keyed = factory.post("/api/v1/orders", headers={"Idempotency-Key": "k"})
    with idempotency.retry_scope():
        assert retry_is_safe(factory.get("/api/v1/plans"))
        assert retry_is_safe(factory.post("/api/v1/payments/webhooks/stripe"))
        assert not retry_is_safe(keyed)  # a key alone says nothing: the endpoint may ignore it
        assert not retry_is_safe(factory.post("/api/v1/orders"))
        assert not retry_is_safe(factory.post("/my"))
        idempotency.mark_retry_safe()  # the endpoint looked its key up, or claimed it, before any effect
        assert retry_is_safe(keyed)
    with idempotency.retry_scope():
        assert not retry_is_safe(keyed)  # each request starts unmarked


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
            raise OperationalError("the server closed the connection") from psycopg.OperationalError("closed")
        running.stop()
        return []

    monkeypatch.setattr(worker, "claim", claim)
    thread = threading.Thread(target=running.run)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert len(claims) == 4  # three failed claims, then one that worked: the worker did not die
