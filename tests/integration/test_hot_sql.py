"""`db/hot_sql`'s writes read back what the ORM would: rows handed back by `update_returning` equal the rows
the ORM reads afterwards (every field's converter applied: encrypted text, JSON, dates), and
`insert_missing` writes only the rows whose twin is not there yet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection, models
from django.test import Client

from tests.support import fake_payments
from topup.clock import now
from topup.db.hot_sql import inbox_processed, insert_missing, order_paid, update_returning
from topup.db.models import InboxEvent, Order, Payment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order_id(seeded: None) -> Iterator[str]:
    with fake_payments.installed():
        body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"}
        answer = Client().post(
            "/api/v1/orders", data=json.dumps(body), content_type="application/json",
            headers={"Idempotency-Key": "hot-sql"},
        )  # fmt: skip
        assert answer.status_code == 201, answer.content
        yield str(answer.json()["id"])


def _as_stored(row: models.Model) -> dict[str, object]:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


def test_update_returning_hands_back_the_rows_as_the_orm_reads_them(order_id: str) -> None:
    at = now() + timedelta(seconds=5)
    [order] = update_returning(Order.objects.filter(id=order_id, status="awaiting_payment"), updated_at=at)
    payment_id = order.current_payment_id
    [payment] = update_returning(Payment.objects.filter(id=payment_id), status="processing", updated_at=at)

    assert _as_stored(order) == _as_stored(Order.objects.get(id=order_id))
    assert _as_stored(payment) == _as_stored(Payment.objects.get(id=payment_id))
    assert order.msisdn == "+32470123456"
    assert order.updated_at == at
    assert isinstance(order.quote, dict)
    assert not order._state.adding
    assert not payment._state.adding
    assert update_returning(Order.objects.filter(id=order_id, status="delivered"), updated_at=at) == []


def test_insert_missing_writes_only_the_rows_not_there_yet() -> None:
    at = now()

    def event(event_id: str) -> InboxEvent:
        return InboxEvent(
            provider="fake", event_id=event_id, type="payment.succeeded", payload={}, received_at=at
        )

    held = event("evt_held")
    held.save()
    twin, new = event("evt_held"), event("evt_new")  # the twin hits the unique (provider, event_id)

    written = insert_missing([twin, new])

    assert written == [InboxEvent.objects.get(event_id="evt_new").pk]
    assert insert_missing([]) == []
    assert set(InboxEvent.objects.filter(provider="fake").values_list("event_id", flat=True)) == {
        "evt_held", "evt_new",
    }  # fmt: skip
    assert _as_stored(InboxEvent.objects.get(event_id="evt_new")) == _as_stored(new) | {"id": written[0]}


def test_inbox_processed_stores_what_the_orm_update_stores(seeded: None) -> None:
    at = now()
    ours, theirs = (
        InboxEvent(
            provider="fake", event_id=f"evt_{name}", type="payment.succeeded", payload={}, received_at=at
        )
        for name in ("ours", "theirs")
    )
    ours.save()
    theirs.save()
    inbox_processed(ours.pk, at + timedelta(seconds=1), "paid")
    InboxEvent.objects.filter(pk=theirs.pk).update(processed_at=at + timedelta(seconds=1), outcome="paid")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT processed_at, outcome FROM inbox_event WHERE id IN (%s, %s)", [ours.pk, theirs.pk]
        )
        [stored_ours, stored_theirs] = cursor.fetchall()
    assert stored_ours == stored_theirs
    assert InboxEvent.objects.get(pk=ours.pk).processed_at == at + timedelta(seconds=1)


def test_order_paid_writes_and_reads_back_what_update_returning_does(order_id: str) -> None:
    at = now() + timedelta(seconds=5)
    payment_id = Order.objects.get(id=order_id).current_payment_id
    paid = order_paid(order_id, payment_id, at, at + timedelta(seconds=60))

    assert paid is not None
    assert _as_stored(paid) == _as_stored(Order.objects.get(id=order_id))
    assert (paid.status, paid.updated_at, paid.delivery_deadline) == ("paid", at, at + timedelta(seconds=60))
    assert order_paid(order_id, payment_id, at, at) is None  # no longer awaiting payment
    Order.objects.filter(id=order_id).update(status="awaiting_payment")
    [again] = update_returning(
        Order.objects.filter(id=order_id, status="awaiting_payment"), status="paid", updated_at=at,
        delivery_deadline=at + timedelta(seconds=60), current_payment_id=payment_id,
    )  # fmt: skip
    assert _as_stored(again) == _as_stored(paid)
