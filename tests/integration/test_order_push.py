"""An order's status is pushed: the API's event stream (SSE) sends each change to whoever may read the order
and 404 to anyone else; the long poll answers on the change; every slot taken answers 503 with Retry-After.
On PostgreSQL the change reaches the waiting request through LISTEN/NOTIFY (the listener hears the order)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from topup.channels.api.auth import create_key
from topup.db import wakeup
from topup.db.models import Order, PlanRecord
from topup.domain.orders import OrderStatus
from topup.domain.quotes import make_quote
from topup.services import order_push, order_watch
from topup.services.order_access import order_token
from topup.services.transitions import move

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def make_order(order_id: str, status: str, api_key_id: str = "") -> Order:
    plan = PlanRecord.objects.select_related("network").get(id="proximus-credit-10")
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), "+32470123456", guessed_network=None)
    return Order.objects.create(
        id=order_id, plan=plan, network=plan.network, msisdn="+32470123456", channel="api", status=status,
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        api_key_id=api_key_id, created_at=AT, updated_at=AT,
    )  # fmt: skip


def deliver_later(order_id: str, delay_s: float = 0.4) -> threading.Thread:
    """The worker, elsewhere: paid -> delivering -> delivered, each committed through transitions.move."""

    def run() -> None:
        try:
            time.sleep(delay_s)  # the client is waiting by then; the outcome does not depend on it
            for new in (OrderStatus.DELIVERING, OrderStatus.DELIVERED):
                with transaction.atomic():
                    move(Order.objects.get(id=order_id), new, at=AT)
                time.sleep(0.05)
        finally:
            connections.close_all()  # this thread's own connection: the test database is dropped later

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def sse_events(chunks: Iterator[bytes]) -> Iterator[dict[str, str]]:
    """The stream's events as {field: value} (comments and bare `retry:` blocks included as they come)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            fields = [line.split(": ", 1) for line in block.decode().splitlines()]
            yield dict(f for f in fields if len(f) == 2)


@pytest.fixture(autouse=True)
def _listener_stopped() -> Iterator[None]:
    """The listener's own connection is closed before the test database is dropped."""
    yield
    order_push.stop()


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The order ids the process's listener heard announced (PostgreSQL's NOTIFY reached it)."""
    got: list[str] = []
    real = order_push.heard

    def record(order_ids: list[str]) -> None:
        got.extend(order_ids)
        real(order_ids)

    monkeypatch.setattr(order_push, "heard", record)
    return got


def test_the_event_stream_sends_paid_then_delivered_to_the_order_s_key(
    seeded: None, heard: list[str]
) -> None:
    key = create_key(["orders:write"], key_id="key_push_owner")
    order = make_order("ord_push_sse", "paid", api_key_id="key_push_owner")
    answer = Client().get(f"/api/v1/orders/{order.id}/events", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/event-stream"
    worker = deliver_later(order.id)
    try:
        events = list(sse_events(answer.streaming_content))  # type: ignore[arg-type]
    finally:
        worker.join()
        answer.close()

    assert events[0] == {"retry": "1000"}
    orders = [e for e in events if e.get("event") == "order"]
    statuses = [json.loads(e["data"])["status"] for e in orders]
    assert statuses[0] == "paid"
    assert statuses[-1] == "delivered"  # the stream ends after the terminal status
    assert len(statuses) == len(set(statuses))  # each state once
    assert orders[-1]["id"] == order_watch.state_of(order.id)[1] == "delivered.."
    assert json.loads(orders[-1]["data"])["id"] == order.id  # the order's whole document
    if wakeup.is_postgres():
        assert order.id in heard  # pushed by NOTIFY, not found by a re-read


def test_the_event_stream_resumes_after_the_last_event_and_stops_at_the_end(seeded: None) -> None:
    order = make_order("ord_push_resume", "delivered")
    owner = {"X-Order-Token": order_token(order.id)}
    client = Client()

    opening: list[str] = []

    def counted(run: Callable[..., object], sql: str, *args: object) -> object:
        opening.append(sql)
        return run(sql, *args)

    with connection.execute_wrapper(counted):
        ended = client.get(
            f"/api/v1/orders/{order.id}/events", headers={**owner, "Last-Event-ID": "delivered.."}
        )
    fresh = client.get(f"/api/v1/orders/{order.id}/events", headers=owner)

    assert ended.status_code == 204  # EventSource stops reconnecting
    assert len(opening) == 1  # the access check and the state in one read (main before: 2)
    assert fresh.status_code == 200
    statuses = [json.loads(e["data"])["status"] for e in sse_events(fresh.streaming_content) if "data" in e]  # type: ignore[arg-type]
    assert statuses == ["delivered"]


def test_a_stranger_gets_404_from_the_stream_and_the_long_poll(seeded: None) -> None:
    create_key(["orders:write"], key_id="key_push_owner2")
    other = create_key(["orders:write"], key_id="key_push_other")
    order = make_order("ord_push_private", "paid", api_key_id="key_push_owner2")
    someone_else = make_order("ord_push_else", "paid")
    stranger = Client()
    for headers in (
        {},
        {"Authorization": f"Bearer {other}"},
        {"X-Order-Token": order_token(someone_else.id)},
    ):
        for path in (f"/api/v1/orders/{order.id}/events", f"/api/v1/orders/{order.id}?wait=1&after=paid"):
            answer = stranger.get(path, headers=headers)
            assert answer.status_code == 404, (path, headers)
            assert answer.json()["error"]["code"] == "order_not_found"


def test_the_long_poll_answers_when_the_status_changes(seeded: None, heard: list[str]) -> None:
    order = make_order("ord_push_poll", "paid")
    owner = {"X-Order-Token": order_token(order.id)}
    client = Client()
    unchanged = client.get(f"/api/v1/orders/{order.id}", {"wait": "0", "after": "paid"}, headers=owner)
    assert unchanged.json()["status"] == "paid"

    worker = deliver_later(order.id)
    try:
        answer = client.get(f"/api/v1/orders/{order.id}", {"wait": "20", "after": "paid"}, headers=owner)
    finally:
        worker.join()

    assert answer.status_code == 200
    assert answer.json()["status"] in {"delivering", "delivered"}  # the first change it saw
    if wakeup.is_postgres():
        assert order.id in heard


def test_when_every_slot_is_taken_the_stream_and_the_long_poll_answer_503_with_retry_after(
    seeded: None,
) -> None:
    order = make_order("ord_push_busy", "paid")
    owner = {"X-Order-Token": order_token(order.id)}
    slots = order_watch.streams()
    taken = [slots.acquire(blocking=False) for _ in range(order_watch.MAX_WAITERS)]
    try:
        stream = Client().get(f"/api/v1/orders/{order.id}/events", headers=owner)
        poll = Client().get(f"/api/v1/orders/{order.id}", {"wait": "5", "after": "paid"}, headers=owner)
    finally:
        for _ in filter(None, taken):
            slots.release()

    assert all(taken)
    for answer in (stream, poll):
        assert answer.status_code == 503
        assert answer["Retry-After"] == "1"
        assert answer.json()["error"]["code"] == "too_many_waiters"
    freed = Client().get(f"/api/v1/orders/{order.id}/events", headers=owner)  # its slot comes back on close
    freed.close()
    assert [slots.acquire(blocking=False) for _ in range(order_watch.MAX_WAITERS)] == [
        True
    ] * order_watch.MAX_WAITERS
    for _ in range(order_watch.MAX_WAITERS):
        slots.release()


def test_the_api_documents_the_stream_and_the_long_poll(seeded: None) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    stream = document["paths"]["/api/v1/orders/{order_id}/events"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    names = {p["name"] for p in document["paths"]["/api/v1/orders/{order_id}"]["get"]["parameters"]}
    assert {"wait", "after"} <= names


@pytest.mark.skipif("not wakeup.is_postgres()", reason="SQLite: nothing is announced, waiters tick")
def test_an_announcement_wakes_that_order_s_waiters_and_none_other(seeded: None) -> None:
    with (
        order_push.watch("ord_a") as first,
        order_push.watch("ord_a") as second,
        order_push.watch("ord_b") as b,
    ):
        order_push.heard(["ord_a"])  # between their reads and their waits: not missed
        started = time.monotonic()
        assert first.wait(5.0)
        assert second.wait(5.0)
        assert time.monotonic() - started < 2.0
        assert not b.wait(0.2)  # ord_b's waiter is not told about ord_a
        assert not first.wait(0.2)  # each announcement is news once
        woken: list[bool] = []
        waiter = threading.Thread(target=lambda: woken.append(b.wait(5.0)))
        waiter.start()
        time.sleep(0.1)
        order_push.heard(["ord_c", "ord_b"])
        waiter.join()
        assert woken == [True]
    assert not order_push._watched  # the blocks left: nobody is registered any more
