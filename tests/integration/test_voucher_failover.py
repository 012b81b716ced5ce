"""A voucher redeemed just before a database failover: the answer is stored with the redemption, so the
server's own retry and every resend with the same key get the first answer, never "already used"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.integration.test_failover_retries import lost
from topup.db.models import IdempotencyRecord, Order
from topup.services import vouchers

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def lost_when_storing_the_answer() -> Iterator[list[str]]:
    """The connection is lost on the first write of an Idempotency-Key's record (once)."""
    table = IdempotencyRecord._meta.db_table
    failed: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not failed and sql.lstrip().upper().startswith("INSERT") and table in sql:
            failed.append(sql)
            raise lost()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield failed


def test_an_api_redemption_cut_by_a_failover_is_answered_and_replayed(seeded: None) -> None:
    _batch, [(_serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    client = Client(raise_request_exception=False)

    def send() -> Any:
        return client.post(
            "/api/v1/vouchers/redeem", {"pin": pin, "msisdn": "0470 12 34 56"},
            content_type="application/json", headers={"Idempotency-Key": "redeem-failover"},
        )  # fmt: skip

    with lost_when_storing_the_answer() as failed:
        first = send()
    assert failed
    assert first.status_code == 201, first.content
    resent = send()
    assert resent.status_code == 201, resent.content
    assert resent.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1


def test_a_web_redemption_cut_by_a_failover_shows_the_order(seeded: None) -> None:
    _batch, [(_serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    client = Client(raise_request_exception=False)
    form = {"msisdn": "0470 12 34 56", "pin": pin, "idem": "form-1"}
    with lost_when_storing_the_answer() as failed:
        first = client.post("/voucher", form)
    assert failed
    assert first.status_code in {302, 503}, first.content  # 503: the form is sent again, as the page says
    resent = client.post("/voucher", form)
    assert resent.status_code == 302, resent.content
    assert resent["Location"] == first.get("Location", resent["Location"])
    assert Order.objects.count() == 1
