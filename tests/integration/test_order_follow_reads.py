"""The reads of following an order (db/hot_sql.order_state and order_document, written once) give what the
ORM's reads give: the same document byte for byte, the same page state, in one statement each, and
`order_not_found` to anyone who may not see the order, exactly as the ORM's read and check."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import OuterRef, Subquery

from topup.db import hot_sql
from topup.db.models import Line, NetworkRecord, Order, OrderEvent, Payment, PlanRecord
from topup.domain.errors import NotFound
from topup.domain.quotes import make_quote
from topup.services import order_view, order_watch, orders
from topup.services.order_access import Caller, order_token

pytestmark = pytest.mark.django_db
AT = datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=UTC)
NUMBER = "+32470123456"


def _order(order_id: str, plan_id: str, msisdn: str, line: Line | None = None, key: str = "") -> Order:
    plan = PlanRecord.objects.select_related("network").get(id=plan_id)
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), msisdn, guessed_network=None)
    return Order.objects.create(
        id=order_id, plan=plan, network=plan.network, msisdn=msisdn, line=line,
        iccid=line.iccid if line else "", channel="api", status="delivered",
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        created_at=AT, updated_at=AT, api_key_id=key, email="a@example.com",
    )  # fmt: skip


def _orders() -> list[Order]:
    """A top-up with two attempts (declined, then paid and partly refunded) and its history; an eSIM on a
    line with a number; an order with no payment, no history, no number."""
    top_up = _order("ord_follow_topup", "proximus-credit-10", NUMBER, key="key_follow")
    for attempt, status in ((1, "failed"), (2, "succeeded")):
        Payment.objects.create(
            id=f"pay_follow_{attempt}", order=top_up, provider="stripe", method="card", status=status,
            attempt=attempt, amount_minor=top_up.total_minor, currency=top_up.currency,
            failure_code="card_declined" if attempt == 1 else "", checkout_url="https://pay.example/c/é",
            next_action_kind="redirect" if attempt == 2 else "", next_action_url="https://pay.example/3ds",
            refunded_minor=100 * (attempt - 1), refund_status="succeeded" if attempt == 2 else "",
            created_at=AT, updated_at=AT,
        )  # fmt: skip
    top_up.current_payment_id = "pay_follow_2"
    top_up.save(update_fields=["current_payment_id"])
    for step, status in enumerate(("created", "awaiting_payment", "paid", "delivering", "delivered")):
        OrderEvent.objects.create(
            order=top_up, from_status="" if step == 0 else "x", to_status=status, code="c" if step else "",
            at=AT + timedelta(seconds=step, microseconds=step),
        )  # fmt: skip
    line = Line.objects.create(
        id="ln_follow", network=NetworkRecord.objects.get(id="topup-esim"), iccid="8932990000000000099",
        msisdn="+32460000099", matching_id="QR-FOLLOW", smdp_address="smdp.topup.example",
        profile_state="installed", created_at=AT, updated_at=AT,
    )  # fmt: skip
    esim = _order("ord_follow_esim", "esim-7d-5gb", "", line=line)
    bare = _order("ord_follow_bare", "proximus-credit-10", "")
    return [top_up, esim, bare]


def _statements(read: Callable[[], object]) -> tuple[object, int]:
    ran: list[str] = []

    def counted(run: Callable[..., object], sql: str, *args: object) -> object:
        ran.append(sql)
        return run(sql, *args)

    with connection.execute_wrapper(counted):
        result = read()
    return result, len(ran)


def _orm_state(order_id: str) -> tuple[str, str]:
    """The page state as main read it with the ORM (the reference)."""
    latest = Payment.objects.filter(order_id=OuterRef("id")).order_by("-attempt").values("status")[:1]
    row = Order.objects.filter(id=order_id).annotate(payment_status=Subquery(latest))
    status, payment, profile = row.values_list("status", "payment_status", "line__profile_state").get()
    return status, order_watch.page_state(status, payment or "", profile or "")


def test_the_document_and_state_are_what_the_orm_reads_in_one_statement_each(seeded: None) -> None:
    for order in _orders():
        caller = Caller(tokens=(order_token(order.id),))
        by_orm = orders.get_order(order.id, caller)
        written, count = _statements(lambda o=order, c=caller: order_view.owned_document(o.id, c))
        assert count == 1
        assert json.dumps(written, default=str) == json.dumps(by_orm, default=str)
        state, count = _statements(lambda o=order, c=caller: order_watch.state_of_owned(o.id, c))
        assert count == 1
        assert state == order_watch.state_of(order.id) == _orm_state(order.id)
        assert state[1] == order_watch.state_of_document(written)
    assert order_watch.state_of("ord_follow_topup")[1] == "delivered.succeeded."
    assert order_watch.state_of("ord_follow_esim")[1] == "delivered..installed"


def test_only_who_may_see_the_order_gets_it(seeded: None) -> None:
    top_up, esim, bare = _orders()
    allowed = {
        top_up.id: [
            Caller(api_key_id="key_follow"),
            Caller(line=NUMBER),
            Caller(order_ids=frozenset({top_up.id})),
        ],
        esim.id: [Caller(line="+32460000099"), Caller(tokens=("nope", order_token(esim.id)))],
        bare.id: [Caller(tokens=(order_token(bare.id),))],
    }
    refused = [Caller(), Caller(api_key_id="key_other"), Caller(tokens=(order_token("ord_other"),)),
               Caller(line="+32470999999"), Caller(order_ids=frozenset({"ord_other"}))]  # fmt: skip
    for order_id, callers in allowed.items():
        for caller in callers:
            assert order_view.owned_document(order_id, caller)["id"] == order_id
            assert order_watch.state_of_owned(order_id, caller)[0] == "delivered"
        for caller in refused:
            for read in (order_view.owned_document, order_watch.state_of_owned, orders.get_order):
                with pytest.raises(NotFound) as refusal:
                    read(order_id, caller)
                assert refusal.value.code == "order_not_found"
    assert hot_sql.order_state("ord_missing") is None
    assert hot_sql.order_document("ord_missing") is None
    with pytest.raises(NotFound):
        order_watch.state_of("ord_missing")
