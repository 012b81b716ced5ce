"""Regression guards on the top-up's hot path: how many SQL statements (and savepoints, and commits) placing
an order, its payment webhook (first and duplicate) and reading the order take through HTTP, in process.

Upper bounds, not timings: a change that adds a query to one of these paths fails here and has to say why.
The bounds hold on both databases (PostgreSQL and SQLite run the same statements).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client

from tests.support import fake_payments
from topup.db.models import InboxEvent, Job, Order, Payment, Redemption
from topup.services.promotion_seed import WELCOME_ID, seed_demo_promotions

pytestmark = pytest.mark.django_db(transaction=True)

PLACE_MAX = 7  # main before issue #12: 12
PLACE_WELCOMED_MAX = 11  # a first top-up with the demo's welcome discount; main before this bound: 14
WEBHOOK_PAID_MAX = 10  # main: 24, 3 savepoints; then 15; 3 of these 10 are the ledger's (db/ledger.py)
# Without the ledger's: inbox, payment, order, history, job (with its key: one statement on PostgreSQL, two on
# SQLite, which has no INSERT in a CTE; db/job_keys), inbox outcome
WEBHOOK_PAID_OURS_MAX = 6 if connection.vendor == "postgresql" else 7
WEBHOOK_NOTIFY_MAX = 1  # PostgreSQL only, one statement: the order changed (pages, streams), a job is due
WEBHOOK_DUPLICATE_MAX = 1  # main: 4 (a savepoint, its rollback and release)
ORDER_READ_MAX = 1  # main: 3, and 3 for each poll of the web page's status


def _wakeup(sql: str) -> bool:
    return "pg_notify" in sql


@dataclass
class Counted:
    """The statements one request ran, and the transactions it committed."""

    sql: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def statements(self) -> int:
        return len(self.sql)

    @property
    def ours(self) -> list[str]:
        """The statements without the ledger's (its postings are another module's budget) and without the
        wake-ups (PostgreSQL's NOTIFY to waiting workers and pages: see `notifies`)."""
        return [s for s in self.sql if "ledger_" not in s and "SAVEPOINT" not in s.upper() and not _wakeup(s)]

    @property
    def notifies(self) -> int:
        return sum(1 for s in self.sql if _wakeup(s))

    @property
    def savepoints(self) -> int:
        return sum(1 for s in self.sql if s.lstrip().upper().startswith("SAVEPOINT"))

    def __str__(self) -> str:
        return f"{self.statements} statements, {self.savepoints} savepoint, {self.commits} commits"


def counted(action: Callable[[], Any]) -> tuple[Any, Counted]:
    """Run `action` and count its statements; a commit is an atomic block's or an autocommit write's."""
    seen = Counted()

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip().upper()
        if verb.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: PostgreSQL's BEGIN is not a statement here
            return execute(sql, params, many, context)
        seen.sql.append(sql)
        if not connection.in_atomic_block and not verb.startswith("SELECT"):
            seen.commits += 1
        return execute(sql, params, many, context)

    real_commit = connection.commit

    def commit() -> None:
        seen.commits += 1
        real_commit()

    with connection.execute_wrapper(wrapper), mock.patch.object(connection, "commit", commit):
        result = action()
    return result, seen


@pytest.fixture
def fake(seeded: None) -> Iterator[fake_payments.FakePaymentProvider]:
    with fake_payments.installed() as provider:
        yield provider


def _place(client: Client, key: str) -> dict[str, Any]:
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"}
    answer = client.post(
        "/api/v1/orders", data=json.dumps(body), content_type="application/json",
        headers={"Idempotency-Key": key},
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    placed: dict[str, Any] = answer.json()
    return placed


def _webhook_body(payment_id: str, event_id: str, provider_ref: str | None = None) -> bytes:
    payment = Payment.objects.get(id=payment_id)
    event = {
        "id": event_id, "type": "payment.succeeded", "provider_ref": provider_ref or payment.provider_ref,
        "payment_id": payment_id, "amount_minor": payment.amount_minor, "currency": payment.currency,
    }  # fmt: skip
    return json.dumps(event).encode()


def _post_webhook(client: Client, body: bytes) -> str:
    answer = client.post(
        f"/api/v1/payments/webhooks/{fake_payments.NAME}", data=body, content_type="application/json",
        headers={fake_payments.SIGNATURE_HEADER: "valid"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.content
    return str(answer.json()["outcome"])


def test_the_hot_path_stays_within_its_statement_budget(fake: fake_payments.FakePaymentProvider) -> None:
    client = Client()
    _place(client, "warm-up")  # the first request of a process fills its caches: not what is measured
    placed, place = counted(lambda: _place(client, "counted"))
    body = _webhook_body(placed["payment"]["id"], "evt_counted_1")
    fake.succeed_at_provider(placed["payment"]["id"])
    outcome, paid = counted(lambda: _post_webhook(client, body))
    again, duplicate = counted(lambda: _post_webhook(client, body))
    token = {"X-Order-Token": placed["order_token"]}
    read, order_read = counted(lambda: client.get(f"/api/v1/orders/{placed['id']}", headers=token).json())
    status_url = f"/orders/{placed['id']}/status?after=unknown"
    page, page_read = counted(lambda: client.get(status_url, headers=token).json())
    print(f"\n[{connection.vendor}] place: {place}\n  webhook: {paid}")
    print(f"  duplicate: {duplicate}\n  read: {order_read}\n  web status: {page_read}")

    assert (outcome, again, read["status"], page["status"]) == ("paid", "duplicate", "paid", "paid")
    assert [h["status"] for h in read["history"]] == ["created", "awaiting_payment", "paid"]
    assert read["payment"]["status"] == "succeeded"
    assert Job.objects.filter(kind="deliver", subject_id=placed["id"]).count() == 1
    assert InboxEvent.objects.filter(event_id="evt_counted_1").count() == 1
    assert Order.objects.get(id=placed["id"]).status == "paid"
    assert place.statements <= PLACE_MAX, place.sql
    assert paid.statements <= WEBHOOK_PAID_MAX, paid.sql
    assert len(paid.ours) <= WEBHOOK_PAID_OURS_MAX, paid.ours
    assert paid.notifies <= (WEBHOOK_NOTIFY_MAX if connection.vendor == "postgresql" else 0), paid.sql
    assert paid.savepoints == 0, paid.sql  # the ledger's transfer skips a duplicate id in its INSERT
    assert duplicate.statements <= WEBHOOK_DUPLICATE_MAX, duplicate.sql
    assert order_read.statements <= ORDER_READ_MAX, order_read.sql
    assert page_read.statements <= ORDER_READ_MAX, page_read.sql


def test_a_checkout_paid_under_another_reference_takes_it_within_the_same_budget(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """A hosted checkout's payment (stored under the checkout) paid under its PaymentIntent's reference: the
    reference is taken by the payment's own UPDATE, not by a read and a second UPDATE."""
    client = Client()
    _place(client, "warm-up")
    placed = _place(client, "checkout")
    payment_id = placed["payment"]["id"]
    Payment.objects.filter(id=payment_id).update(provider_ref=f"cs_{payment_id}")  # stored under its checkout
    fake.succeed_at_provider(payment_id)
    body = _webhook_body(payment_id, "evt_checkout_1", provider_ref="pi_paid_under_this")
    outcome, paid = counted(lambda: _post_webhook(client, body))

    assert outcome == "paid"
    assert Payment.objects.get(id=payment_id).provider_ref == "pi_paid_under_this"
    assert paid.statements <= WEBHOOK_PAID_MAX, paid.sql
    assert len(paid.ours) <= WEBHOOK_PAID_OURS_MAX, paid.ours


def test_a_success_naming_a_reference_another_payment_holds_pays_nothing(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """Our payment's metadata with another payment's reference: the reference decides, so neither is paid
    and both keep their references."""
    client = Client()
    ours, theirs = _place(client, "holder-ours"), _place(client, "holder-theirs")
    our_ref = Payment.objects.get(id=ours["payment"]["id"]).provider_ref
    their_ref = Payment.objects.get(id=theirs["payment"]["id"]).provider_ref
    fake.succeed_at_provider(ours["payment"]["id"])
    body = _webhook_body(ours["payment"]["id"], "evt_held_1", provider_ref=their_ref)

    assert _post_webhook(client, body) == "ignored"
    assert Payment.objects.get(id=ours["payment"]["id"]).provider_ref == our_ref
    assert Payment.objects.get(id=theirs["payment"]["id"]).provider_ref == their_ref
    assert Order.objects.get(id=ours["id"]).status == "awaiting_payment"
    assert Order.objects.get(id=theirs["id"]).status == "awaiting_payment"


def test_a_first_top_up_with_the_welcome_discount_stays_within_its_budget(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """The bench's case: every order is a new number's first top-up, so the promotion rules read the
    customer's history (one statement) and the placement reserves the discount's redemption."""
    seed_demo_promotions()
    client = Client()
    _place(client, "warm-up")
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 65 43 21", "payment_method": "card"}
    answer, place = counted(
        lambda: client.post(
            "/api/v1/orders", data=json.dumps(body), content_type="application/json",
            headers={"Idempotency-Key": "welcomed"},
        )
    )  # fmt: skip
    print(f"\n[{connection.vendor}] welcomed place: {place}")

    assert answer.status_code == 201, answer.content
    assert [p["campaign_id"] for p in answer.json()["quote"]["promotions"]] == [WELCOME_ID]
    assert Redemption.objects.filter(order_id=answer.json()["id"], campaign_id=WELCOME_ID).count() == 1
    assert place.statements <= PLACE_WELCOMED_MAX, place.sql
