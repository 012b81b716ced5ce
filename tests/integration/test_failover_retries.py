"""A database failover in the middle of a top-up: the connection is lost (or the server turned read-only) at
each statement of order placement, the paid webhook and delivery in turn. The web request is retried once in
the server after reconnecting (it is safe: an Idempotency-Key, the webhook's inbox) or answers 503 with
Retry-After and a stable code, never 500; the worker runs the job again under a new lease. Afterwards each
order has what an order without a failure has: one payment, one inbox event, one delivery at the carrier,
the same ledger transfers, and no duplicate of any of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import InternalError, OperationalError, connection, transaction
from django.test import Client

from tests.integration.conftest import Carriers
from tests.support import fake_payments
from tests.support.orders import owner
from topup.clock import now
from topup.db.failover import forget_connections, is_failover_error
from topup.db.models import InboxEvent, Job, Order, Payment
from topup.db.models.ledger import Transfer

pytestmark = pytest.mark.django_db(transaction=True)

MSISDN = "+32470123456"


def lost() -> Exception:
    cause = psycopg.OperationalError("server closed the connection unexpectedly")
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as exc:
        return exc


def read_only() -> Exception:
    cause = psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction")
    try:
        raise InternalError(str(cause)) from cause
    except InternalError as exc:
        return exc


@contextmanager
def failing_at(statement: int, error: Callable[[], Exception], times: int = 1) -> Iterator[list[str]]:
    """The `statement`-th SQL statement of this thread (and the next `times - 1` ones) raises `error`
    instead of reaching the database; yields the statements seen."""
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        if statement <= len(seen) < statement + times:
            raise error()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


@pytest.fixture
def fake(seeded: None) -> Iterator[fake_payments.FakePaymentProvider]:
    with fake_payments.installed() as provider:
        yield provider


def place(client: Client, key: str) -> Any:
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "card"}
    return client.post(
        "/api/v1/orders", data=json.dumps(body), content_type="application/json",
        headers={"Idempotency-Key": key},
    )  # fmt: skip


def paid_event(payment_id: str, event_id: str) -> bytes:
    payment = Payment.objects.get(id=payment_id)
    event = {
        "id": event_id, "type": "payment.succeeded", "provider_ref": payment.provider_ref,
        "payment_id": payment_id, "amount_minor": payment.amount_minor, "currency": payment.currency,
    }  # fmt: skip
    return json.dumps(event).encode()


def webhook(client: Client, body: bytes) -> Any:
    return client.post(
        f"/api/v1/payments/webhooks/{fake_payments.NAME}", data=body,
        content_type="application/json", headers={fake_payments.SIGNATURE_HEADER: "valid"},
    )  # fmt: skip


def run_jobs_through_failures(fail_at: int, error: Callable[[], Exception], limit: int = 40) -> None:
    """The worker's loop: claim and run what is due (delays skipped), the `fail_at`-th statement of the
    claims and runs failing once; a failover error of a claim drops the connection and claims again, as
    `Worker.run` does (a job's own failure is its failed attempt, run again under a new lease)."""
    from topup.worker import claim, run_one  # noqa: PLC0415

    seen = 0
    for _ in range(limit):
        Job.objects.filter(status="queued").update(run_after=now() - timedelta(seconds=1), locked_until=None)
        with failing_at(fail_at - seen, error) as statements:
            try:
                for job in claim(50, lease_s=30):
                    run_one(*job)
            except Exception as exc:
                assert is_failover_error(exc), exc
                forget_connections()
        seen += len(statements)
        if not Job.objects.filter(status="queued").exists():
            return
    raise AssertionError(list(Job.objects.filter(status="queued").values_list("kind", "last_error")))


def top_up(
    fake: fake_payments.FakePaymentProvider, key: str, fail_at: int, error: Callable[[], Exception]
) -> str:
    """Place, pay and deliver one order, with the `fail_at`-th statement of each step failing once."""
    client = Client(raise_request_exception=False)
    with failing_at(fail_at, error):
        placed = place(client, key)
    assert placed.status_code == 201, placed.content
    order_id, payment_id = placed.json()["id"], placed.json()["payment"]["id"]
    fake.succeed_at_provider(payment_id)
    body = paid_event(payment_id, f"evt_{key}")
    with failing_at(fail_at, error):
        paid = webhook(client, body)
    assert paid.status_code == 200, paid.content
    run_jobs_through_failures(fail_at, error)
    return str(order_id)


def footprint(order_id: str) -> dict[str, object]:
    """What one order left behind, in counts that a duplicate would change."""
    payments = list(Payment.objects.filter(order_id=order_id).values_list("id", flat=True))
    return {
        "status": Order.objects.get(id=order_id).status,
        "payments": len(payments),
        "transfers": sorted(
            code for code in Transfer.objects.filter(order_id=order_id).values_list("code", flat=True)
        ),
        "deliver_jobs": Job.objects.filter(kind="deliver", subject_id=order_id).count(),
    }


@pytest.mark.parametrize("error", [lost, read_only], ids=["connection_lost", "read_only"])
def test_a_failover_at_any_statement_retries_without_duplicates(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers, error: Callable[[], Exception]
) -> None:
    before = carriers.balance_minor("proximus", MSISDN)
    baseline = footprint(top_up(fake, "baseline", fail_at=10_000, error=error))
    assert baseline["status"] == "delivered", baseline
    statements = 12  # more than placement (7) and the webhook (10) run: every statement gets its failure
    orders = [top_up(fake, f"fail-at-{n}", fail_at=n, error=error) for n in range(1, statements + 1)]

    for order_id in orders:
        assert footprint(order_id) == baseline, order_id
    assert InboxEvent.objects.count() == len(orders) + 1  # one event each, applied once
    assert carriers.balance_minor("proximus", MSISDN) - before == 1000 * (len(orders) + 1)
    assert Payment.objects.count() == len(orders) + 1
    creates = [ref for operation, ref in fake.calls if operation == "create"]
    assert len(set(creates)) == len(orders) + 1  # the provider saw one payment per order (retries reuse it)


def test_a_failover_while_paying_again_gives_the_claim_back(
    fake: fake_payments.FakePaymentProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup.services import attempts, idempotency  # noqa: PLC0415

    client = Client(raise_request_exception=False)
    placed = place(client, "pay-again").json()
    monkeypatch.setattr(idempotency, "CLAIM_WAIT_S", 0.3)  # a claim left in progress answers 409 soon
    save = attempts._save_attempt
    failures: list[str] = []

    def lost_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append("lost")
            raise lost()
        return save(*args, **kwargs)

    monkeypatch.setattr(attempts, "_save_attempt", lost_once)
    again = client.post(
        f"/api/v1/orders/{placed['id']}/payments", data=json.dumps({"payment_method": "card"}),
        content_type="application/json",
        headers={"Idempotency-Key": "pay-again-2", **owner(placed)},
    )  # fmt: skip
    assert failures == ["lost"]
    assert again.status_code == 201, again.content  # the server's retry resumed the released claim
    assert again.json()["payment"]["attempt"] == 2
    assert Payment.objects.filter(order_id=placed["id"]).count() == 2


def test_a_key_the_endpoint_ignores_is_not_retried_but_orders_are(
    fake: fake_payments.FakePaymentProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup.services import otp  # noqa: PLC0415

    sent: list[str] = []

    def send_then_lose(msisdn: str, ip: str | None, **kwargs: object) -> None:
        sent.append(msisdn)  # the code went out; then the connection is lost
        raise lost()

    monkeypatch.setattr(otp, "send_code", send_then_lose)
    client = Client(raise_request_exception=False)
    asked = client.post(
        "/api/v1/auth/otp", data=json.dumps({"msisdn": MSISDN}), content_type="application/json",
        headers={"Idempotency-Key": "otp-1"},
    )  # fmt: skip
    assert asked.status_code == 503
    assert asked.json()["error"]["code"] == "database_unavailable"
    assert sent == [MSISDN]  # one code, not a second one from a retry

    with failing_at(1, lost) as statements:  # the order's first statement: its key's look-up
        placed = place(client, "retried")
    assert placed.status_code == 201, placed.content
    assert len(statements) > 1  # it ran again


def test_a_resumed_payment_attempt_keeps_the_yuan_of_its_first_run(
    fake: fake_payments.FakePaymentProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.fx import ecb_daily  # noqa: PLC0415
    from topup.adapters.fx import ecb  # noqa: PLC0415
    from topup.db.models import IdempotencyRecord  # noqa: PLC0415
    from topup.services import attempts, fx  # noqa: PLC0415

    client = Client(raise_request_exception=False)
    placed = place(client, "fx-resume").json()
    save = attempts._retry_claimed
    asked: list[object] = []

    def crash_after_claim_once(order: Any, payment_id: str, new: Any, idem: Any) -> Any:
        asked.append(new.quote.fx)
        if len(asked) == 1:
            raise RuntimeError("the process died before calling the provider")
        return save(order, payment_id, new, idem)

    monkeypatch.setattr(attempts, "_retry_claimed", crash_after_claim_once)

    def pay_again() -> Any:
        return client.post(
            f"/api/v1/orders/{placed['id']}/payments", data=json.dumps({"payment_method": "alipay"}),
            content_type="application/json", headers={"Idempotency-Key": "fx-resume-2", **owner(placed)},
        )  # fmt: skip

    assert pay_again().status_code == 500
    fx.store_rates(ecb.parse(ecb_daily(now().date(), cny="8.1234")))  # a new figure meanwhile
    IdempotencyRecord.objects.update(claimed_at=now() - timedelta(minutes=5))  # the crashed claim is stale
    again = pay_again()
    assert again.status_code == 201, again.content
    first, resumed = asked
    assert first is not None
    assert resumed == first  # the same rate and yuan under the same payment id at the provider
    assert again.json()["quote"]["fx"]["rate"] == str(first.rate)  # type: ignore[attr-defined]


def test_a_resumed_placement_keeps_the_yuan_of_its_first_run(
    fake: fake_payments.FakePaymentProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for a new order paid by Alipay: its claim keeps the first run's yuan quote."""
    from tests.support.fx import ecb_daily  # noqa: PLC0415
    from topup.adapters.fx import ecb  # noqa: PLC0415
    from topup.db.models import IdempotencyRecord  # noqa: PLC0415
    from topup.services import fx, orders  # noqa: PLC0415

    save = orders._place_claimed
    asked: list[object] = []

    def crash_after_claim_once(request: Any, priced: Any, claimed: Any, **kwargs: Any) -> Any:
        asked.append(priced.quote.fx)
        if len(asked) == 1:
            raise RuntimeError("the process died before calling the provider")
        return save(request, priced, claimed, **kwargs)

    monkeypatch.setattr(orders, "_place_claimed", crash_after_claim_once)
    client = Client(raise_request_exception=False)
    body = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "alipay"}

    def place_alipay() -> Any:
        return client.post(
            "/api/v1/orders", data=json.dumps(body), content_type="application/json",
            headers={"Idempotency-Key": "fx-first"},
        )  # fmt: skip

    assert place_alipay().status_code == 500
    fx.store_rates(ecb.parse(ecb_daily(now().date(), cny="8.1234")))  # a new figure meanwhile
    IdempotencyRecord.objects.update(claimed_at=now() - timedelta(minutes=5))  # the crashed claim is stale
    again = place_alipay()
    assert again.status_code == 201, again.content
    first, resumed = asked
    assert first is not None
    assert resumed == first
    assert again.json()["quote"]["fx"]["rate"] == str(first.rate)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["webhook", "record_success"])
def test_a_superseded_attempt_that_succeeds_late_is_a_stray_not_the_orders_payment(
    fake: fake_payments.FakePaymentProvider, path: str
) -> None:
    from topup.services import payments  # noqa: PLC0415

    client = Client(raise_request_exception=False)
    placed = place(client, "superseded").json()
    first_id = placed["payment"]["id"]
    again = client.post(
        f"/api/v1/orders/{placed['id']}/payments", data=json.dumps({"payment_method": "alipay"}),
        content_type="application/json", headers={"Idempotency-Key": "superseded-2", **owner(placed)},
    )  # fmt: skip
    assert again.status_code == 201, again.content
    assert Payment.objects.get(id=first_id).failure_code == "superseded"
    if path == "webhook":  # the old attempt's success arrives while the new one is still open
        fake.succeed_at_provider(first_id)
        assert webhook(client, paid_event(first_id, "evt_late")).status_code == 200
    else:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(id=first_id)
            order = Order.objects.select_for_update().get(id=placed["id"])
            assert payments.record_success(order, payment, now()) == "late_payment_refund"
    order = Order.objects.get(id=placed["id"])
    assert order.status == "awaiting_payment"  # the order waits for its current attempt (its yuan figures)
    assert order.current_payment_id == again.json()["payment"]["id"]
    assert Job.objects.filter(kind="refund_payment", subject_id=first_id).exists()
    assert not Job.objects.filter(kind="deliver", subject_id=placed["id"]).exists()
