"""Migration 0009 seals what was stored in clear before it: numbers, e-mail addresses, client addresses,
quotes and stored answers, and the sessions; blind indexes are filled so that old rows are still found."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from topup.db.fields import digest
from topup.db.models import IdempotencyRecord, LinePreference, Order, OtpChallenge, RedeemAttempts
from topup.pii import hash_ip

pytestmark = pytest.mark.django_db(transaction=True)

PRIVACY = importlib.import_module("topup.db.migrations.0009_privacy").Migration
BEFORE = [d for d in PRIVACY.dependencies if d[0] == "topup"]
NUMBER = "+32470123456"
AT = datetime(2026, 11, 1, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _store_in_clear(executor: MigrationExecutor) -> None:
    apps = executor.loader.project_state(BEFORE).apps
    network = apps.get_model("topup", "NetworkRecord").objects.create(
        id="proximus", name="Proximus", kind="external"
    )
    plan = apps.get_model("topup", "PlanRecord").objects.create(
        id="p-10", network=network, kind="credit", name="10", price_minor=1000
    )
    apps.get_model("topup", "Order").objects.create(
        id="ord_1", plan=plan, network=network, msisdn=NUMBER, status="delivered", total_minor=1000,
        currency="EUR", quote={"msisdn": NUMBER, "total": 1000}, created_at=AT, updated_at=AT,
    )  # fmt: skip
    apps.get_model("topup", "LinePreference").objects.create(
        line_ref=NUMBER, language="nl", email="jan@example.be", chosen=True, updated_at=AT
    )
    apps.get_model("topup", "OtpChallenge").objects.create(
        id="otp_1", msisdn=NUMBER, code_hash="h", expires_at=AT, created_at=AT, ip="198.51.100.23"
    )
    apps.get_model("topup", "RedeemAttempts").objects.create(key=f"line:{NUMBER}", failures=2)
    apps.get_model("topup", "IdempotencyRecord").objects.create(
        scope="orders", key="k", request_hash="r", response_status=201, response_body={"msisdn": NUMBER},
        created_at=AT,
    )  # fmt: skip


def test_what_was_stored_in_clear_is_sealed_and_still_found() -> None:
    executor = _migrate(BEFORE)
    try:
        _store_in_clear(executor)
        _migrate(executor.loader.graph.leaf_nodes("topup"))

        with connection.cursor() as cursor:
            cursor.execute('SELECT msisdn, quote FROM "order"')
            msisdn, quote = cursor.fetchone()
            cursor.execute("SELECT ip FROM otp_challenge")
            (ip,) = cursor.fetchone()
        assert msisdn.startswith("k1:")
        assert quote.startswith("k1:")
        assert NUMBER not in msisdn + quote
        assert ip == hash_ip("198.51.100.23")
        order = Order.objects.get(msisdn=NUMBER)
        assert order.quote == {"msisdn": NUMBER, "total": 1000}
        preference = LinePreference.objects.get(line_ref=NUMBER)
        assert (preference.email, preference.email_index) == (
            "jan@example.be",
            digest("jan@example.be", "email"),
        )
        assert OtpChallenge.objects.filter(msisdn=NUMBER, ip="198.51.100.23").count() == 1
        assert RedeemAttempts.objects.get(key=f"line:{NUMBER}").failures == 2
        assert IdempotencyRecord.objects.get().response_body == {"msisdn": NUMBER}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
