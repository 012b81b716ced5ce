"""Paying again: a declined or abandoned payment is replaced by a new attempt on the same order; only one
attempt ever pays the order, any other success is refunded; refunds may be asynchronous, and a refund the
provider could not make is paid back by hand, never lost. The ledger balances throughout."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support import fake_payments
from tests.support.race import at_once
from topup import cli
from topup.db import ledger
from topup.db.models import Order, Payment, Transfer
from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.domain.orders import OrderStatus
from topup.ports import PaymentStatus, RefundState
from topup.services import attempts, maintenance, orders, refunds
from topup.services.idempotency import make_key
from topup.services.order_access import Caller
from topup.services.transitions import move
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)
MSISDN = "0470 12 34 56"
PRICE_MINOR = 1000  # proximus-credit-10


@pytest.fixture
def fake(seeded: None, carriers: Carriers) -> Iterator[fake_payments.FakePaymentProvider]:
    with fake_payments.installed() as provider:
        yield provider


def place(method: str = "card") -> tuple[str, str, Caller]:
    """An order awaiting payment: its id, its first payment's id, and its buyer."""
    stored = orders.place_order(
        orders.QuoteRequest("proximus-credit-10", MSISDN), payment_method=method, channel="api",
        language="en", idem=make_key("test-orders", f"k-{method}-{Order.objects.count()}", {"m": method}),
    )  # fmt: skip
    body: dict[str, Any] = stored.body
    return str(body["id"]), str(body["payment"]["id"]), Caller(tokens=(str(body["order_token"]),))


def retry(order_id: str, caller: Caller, method: str, key: str = "") -> dict[str, Any]:
    idem = make_key(
        f"test-retry:{order_id}", key or f"r-{Payment.objects.count()}", {"payment_method": method}
    )
    return attempts.retry_payment(order_id, caller, payment_method=method, idem=idem).body


def in_flight(order_id: str) -> int:
    return ledger.in_flight(order_id)


def books_balance() -> bool:
    return all(t.balanced for t in ledger.trial_balance())


def status(order_id: str) -> str:
    return Order.objects.get(id=order_id).status


def test_a_declined_order_is_retried_with_another_method_and_delivered_once(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers
) -> None:
    before = carriers.balance_minor("proximus", "+32470123456")
    order_id, first, caller = place("card")
    assert fake.send("payment.failed", first, failure_code="card_declined") == "failed"

    body = retry(order_id, caller, "wechat_pay")

    assert ("cancel", f"pi_{first}") in fake.calls
    second = body["payment"]["id"]
    assert second != first
    assert body["payment"]["attempt"] == 2
    assert body["payment"]["next_action"]["kind"] == "display_qr"
    assert body["payment"]["next_action"]["qr_data"] == f"weixin://wxpay/bizpayurl?pr=pi_{second}"
    assert [a["status"] for a in body["attempts"]] == ["failed", "requires_action"]
    assert fake.send("payment.succeeded", second) == "paid"
    run_jobs_until_idle()
    assert status(order_id) == OrderStatus.DELIVERED
    assert carriers.balance_minor("proximus", "+32470123456") - before == PRICE_MINOR
    assert in_flight(order_id) == 0
    assert books_balance()


def test_a_late_success_of_the_replaced_attempt_is_refunded_not_delivered_twice(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers
) -> None:
    order_id, first, caller = place("card")  # abandoned at the 3-D Secure page: still requires_action
    second = retry(order_id, caller, "bancontact")["payment"]["id"]
    assert fake.send("payment.succeeded", second) == "paid"
    assert fake.send("payment.succeeded", first) == "late_payment_refund"
    run_jobs_until_idle()

    assert status(order_id) == OrderStatus.DELIVERED
    stray = Payment.objects.get(id=first)
    assert (stray.status, stray.refund_status) == ("refunded", "succeeded")
    assert [(ref, r_id) for ref, _, r_id in fake.refunds] == [(f"pi_{first}", f"rfd_{first}")]
    assert Transfer.objects.get(id=f"{first}:capture").amount_minor == PRICE_MINOR
    assert Transfer.objects.get(id=f"{first}:refund").amount_minor == PRICE_MINOR
    assert in_flight(order_id) == 0
    assert books_balance()


def test_an_attempt_that_succeeded_before_its_cancel_pays_the_order_and_no_new_attempt_is_made(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order_id, first, caller = place("card")
    fake.succeed_at_provider(first)  # paid at the provider; its webhook is late

    body = retry(order_id, caller, "alipay")

    assert body["status"] == OrderStatus.PAID
    assert [a["id"] for a in body["attempts"]] == [first]
    assert [c for c in fake.calls if c[0] == "create"] == [("create", first)]
    assert fake.send("payment.succeeded", first) == "already_succeeded"
    run_jobs_until_idle()
    assert status(order_id) == OrderStatus.DELIVERED
    assert books_balance()


def test_an_attempt_still_processing_at_its_cancel_refuses_the_retry_and_the_key_may_be_resent(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order_id, first, caller = place("card")
    fake.processing_at_provider(first)  # its processing webhook is not here yet

    with pytest.raises(Conflict) as refused:
        retry(order_id, caller, "alipay", key="k-processing")

    assert refused.value.code == "payment_processing"
    assert [c for c in fake.calls if c[0] == "create"] == [("create", first)]  # no second charge
    assert Payment.objects.filter(order_id=order_id).count() == 1
    fake.intents[f"pi_{first}"].status = PaymentStatus.FAILED  # declined by the bank after all
    assert retry(order_id, caller, "alipay", key="k-processing")["payment"]["method"] == "alipay"


def test_two_attempts_succeeding_at_once_deliver_once_and_refund_the_other(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers
) -> None:
    before = carriers.balance_minor("proximus", "+32470123456")
    order_id, first, caller = place("card")
    second = retry(order_id, caller, "alipay")["payment"]["id"]

    outcomes = at_once(lambda payment_id: fake.send("payment.succeeded", payment_id), [first, second])

    assert sorted(outcomes) == ["late_payment_refund", "paid"]
    run_jobs_until_idle()
    assert status(order_id) == OrderStatus.DELIVERED
    assert carriers.balance_minor("proximus", "+32470123456") - before == PRICE_MINOR
    assert sorted(p.status for p in Payment.objects.filter(order_id=order_id)) == ["refunded", "succeeded"]
    assert len(fake.refunds) == 1
    assert in_flight(order_id) == 0
    assert books_balance()


def test_no_new_attempt_after_expiry_for_a_stranger_or_past_the_limit(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order_id, _, caller = place("card")
    with pytest.raises(NotFound):
        retry(order_id, Caller(tokens=("not-the-token",)), "card")
    for _ in range(CONFIG.payment_max_attempts - 1):
        retry(order_id, caller, "card")
    with pytest.raises(Conflict) as refused:
        retry(order_id, caller, "card")
    assert refused.value.code == "too_many_payment_attempts"

    late_id, _, late_caller = place("alipay")
    Order.objects.filter(id=late_id).update(
        created_at=Order.objects.get(id=late_id).created_at - timedelta(seconds=CONFIG.payment_ttl_s + 1)
    )
    with pytest.raises(Conflict) as expired:
        retry(late_id, late_caller, "card")
    assert expired.value.code == "order_expired"
    maintenance.expire_unpaid_orders()
    with pytest.raises(Conflict) as still:
        retry(late_id, late_caller, "card")
    assert still.value.code == "order_expired"


def test_bancontact_is_refused_for_an_order_not_in_euros(fake: fake_payments.FakePaymentProvider) -> None:
    order_id, _, caller = place("alipay")
    Order.objects.filter(id=order_id).update(currency="CNY")
    with pytest.raises(InvalidInput) as refused:
        retry(order_id, caller, "bancontact")
    assert refused.value.code == "bancontact_eur_only"


def test_the_api_retries_for_the_owner_only(fake: fake_payments.FakePaymentProvider) -> None:
    order_id, first, caller = place("card")
    fake.send("payment.failed", first, failure_code="card_declined")
    url = f"/api/v1/orders/{order_id}/payments"
    client = Client()
    body = {"payment_method": "wechat_pay"}
    stranger = client.post(url, body, content_type="application/json", headers={"Idempotency-Key": "a"})
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "order_not_found"
    headers = {"Idempotency-Key": "a", "X-Order-Token": caller.tokens[0]}
    first_answer = client.post(url, body, content_type="application/json", headers=headers)
    again = client.post(url, body, content_type="application/json", headers=headers)
    assert first_answer.status_code == again.status_code == 201
    assert first_answer.json()["payment"]["id"] == again.json()["payment"]["id"]
    assert Payment.objects.filter(order_id=order_id).count() == 2
    processing = first_answer.json()["payment"]["id"]
    fake.send("payment.processing", processing)
    refused = client.post(
        url, body, content_type="application/json", headers={**headers, "Idempotency-Key": "b"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "payment_processing"


def paid_then_undeliverable(fake: fake_payments.FakePaymentProvider) -> tuple[str, str]:
    """A paid order the carrier refused for good: its refund job is queued."""
    order_id, payment_id, _ = place("alipay")
    assert fake.send("payment.succeeded", payment_id) == "paid"
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order_id)
        move(order, OrderStatus.DELIVERY_FAILED, at=order.updated_at, code="carrier_rejected")
        from topup.services.payments import enqueue  # noqa: PLC0415

        enqueue("refund", order_id, at=order.updated_at)
    return order_id, payment_id


def test_an_asynchronous_refund_ends_the_order_only_when_it_succeeded(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    fake.refund_state = RefundState.PENDING
    order_id, payment_id = paid_then_undeliverable(fake)
    run_jobs_until_idle()

    assert status(order_id) == OrderStatus.DELIVERY_FAILED
    assert Payment.objects.get(id=payment_id).refund_status == "pending"
    assert in_flight(order_id) == PRICE_MINOR
    assert fake.send("refund.pending", payment_id, refund_ref=f"re_rfd_{order_id}") == "refund_pending"
    assert fake.send("refund.succeeded", payment_id, refund_ref=f"re_rfd_{order_id}") == "refunded"
    assert fake.send("refund.succeeded", payment_id, refund_ref=f"re_rfd_{order_id}") == "ignored"

    assert status(order_id) == OrderStatus.REFUNDED
    assert Payment.objects.get(id=payment_id).status == "refunded"
    assert in_flight(order_id) == 0
    assert books_balance()


def test_a_failed_refund_is_flagged_for_a_manual_payout_and_recorded_once_paid(
    fake: fake_payments.FakePaymentProvider,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake.refund_state = RefundState.PENDING
    order_id, payment_id = paid_then_undeliverable(fake)
    run_jobs_until_idle()
    with caplog.at_level(logging.ERROR):
        outcome = fake.send("refund.failed", payment_id, failure_code="refund_expired")
    assert outcome == "payout_needed"
    assert any(
        getattr(r, "alert", "") == "refund_failed" and r.levelno == logging.ERROR for r in caplog.records
    )
    assert [row["payment_id"] for row in refunds.payouts()] == [payment_id]
    assert status(order_id) == OrderStatus.DELIVERY_FAILED
    assert in_flight(order_id) == PRICE_MINOR  # still owed to the customer: nothing left the books
    assert "topup_payouts_needed 1" in _metrics()

    # The command as staff run it, minus its Django start-up: a second setup would re-bind the log
    # handlers to this test's captured output, closed after it.
    monkeypatch.setattr(cli, "_django", lambda: None)
    cli.main(["payments", "payouts"])
    assert payment_id in capsys.readouterr().out
    cli.main(["payments", "payout-done", payment_id, "--reference", "BANK-2026-0042"])
    assert f"{payment_id}: paid_out" in capsys.readouterr().out

    payment = Payment.objects.get(id=payment_id)
    assert (payment.status, payment.refund_status, payment.payout_reference) == (
        "refunded", "paid_out", "BANK-2026-0042",
    )  # fmt: skip
    assert Transfer.objects.get(id=f"{order_id}:refund").code == "manual_payout"
    assert status(order_id) == OrderStatus.REFUNDED
    assert refunds.payouts() == []
    assert refunds.payout_done(payment_id, "again") == "not_needed"
    assert in_flight(order_id) == 0
    assert books_balance()
    assert "topup_payouts_needed 0" in _metrics()


def _metrics() -> str:
    from django.conf import settings  # noqa: PLC0415

    token = settings.METRICS_TOKEN
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    return response.content.decode()


def test_staff_record_a_manual_payout_in_the_back_office(fake: fake_payments.FakePaymentProvider) -> None:
    from django.contrib.auth.models import User  # noqa: PLC0415

    fake.refund_state = RefundState.FAILED  # the provider answers the refund itself as failed
    order_id, payment_id = paid_then_undeliverable(fake)
    run_jobs_until_idle()
    assert Payment.objects.get(id=payment_id).refund_status == "payout_needed"
    staff = Client()
    staff.force_login(User.objects.create_superuser("staff", "staff@topup.invalid", "not-used-here"))
    listed = staff.get("/admin/topup/payment/", {"refund_status__exact": "payout_needed"})
    assert payment_id in listed.content.decode()
    url = f"/admin/topup/payment/{payment_id}/change/"
    assert staff.post(url, {"payout_reference": ""}).status_code in {200, 302}
    assert Payment.objects.get(id=payment_id).refund_status == "payout_needed"  # no reference: nothing
    assert staff.post(url, {"payout_reference": "BANK-7"}).status_code == 302
    assert Payment.objects.get(id=payment_id).refund_status == "paid_out"
    assert status(order_id) == OrderStatus.REFUNDED
    assert staff.get(url).status_code == 200  # read-only again
    assert in_flight(order_id) == 0
    assert books_balance()


def test_a_stray_payment_whose_refund_failed_is_paid_out_without_touching_the_order(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order_id, first, caller = place("wechat_pay")
    second = retry(order_id, caller, "alipay")["payment"]["id"]
    fake.send("payment.succeeded", second)
    fake.refund_state = RefundState.PENDING
    assert fake.send("payment.succeeded", first) == "late_payment_refund"
    run_jobs_until_idle()
    assert fake.send("refund.failed", first, failure_code="refund_failed") == "payout_needed"
    assert in_flight(order_id) == PRICE_MINOR  # the stray's money, still owed to its payer

    assert refunds.payout_done(first, "BANK-9") == "paid_out"

    assert Transfer.objects.get(id=f"{first}:refund").code == "manual_payout"
    assert status(order_id) == OrderStatus.DELIVERED
    assert in_flight(order_id) == 0
    assert books_balance()


def test_a_retry_racing_the_old_attempts_success_pays_the_order_once(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order_id, first, caller = place("card")
    actions = {
        "retry": lambda: str(retry(order_id, caller, "alipay", key="race")["payment"]["id"]),
        "success": lambda: fake.send("payment.succeeded", first),
    }

    outcomes = at_once(lambda name: actions[name](), ["retry", "success"])
    if "queued" in outcomes:  # a webhook that met a locked row (SQLite) is applied by its job
        run_jobs_until_idle()

    # Whoever came first pays: the webhook ("paid", or "queued" for its job), or the retry, whose cancel
    # found the old attempt succeeded and answered with it (then the webhook finds it already succeeded).
    assert "paid" in outcomes or "queued" in outcomes or outcomes == [first, "already_succeeded"]
    assert set(outcomes) - {"paid", "queued"} <= {
        "order_not_awaiting_payment",
        "already_succeeded",
        *Payment.objects.values_list("id", flat=True),
    }
    assert status(order_id) in {OrderStatus.PAID, OrderStatus.DELIVERED}  # paid once (then delivered if run)
    assert Order.objects.get(id=order_id).current_payment_id == first
    assert list(Payment.objects.filter(status="succeeded").values_list("id", flat=True)) == [first]
    assert books_balance()


def test_a_late_payment_captured_before_attempts_existed_is_still_refunded(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """A refund job queued before migration 0012 for an expired order captured under the order's ids."""
    from topup.domain import ledger as postings  # noqa: PLC0415
    from topup.domain.quotes import Quote  # noqa: PLC0415
    from topup.services.payments import enqueue  # noqa: PLC0415

    order_id, payment_id, _ = place("card")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order_id)
        move(order, OrderStatus.EXPIRED, at=order.updated_at, code="payment_timeout")
        Payment.objects.filter(id=payment_id).update(status="succeeded")
        capture = postings.payment_captured(order_id, fake.name, Quote.from_dict(order.quote))
        ledger.post(capture, now=order.updated_at, order_id=order_id)
        enqueue("refund", order_id, at=order.updated_at)
    run_jobs_until_idle()

    assert Payment.objects.get(id=payment_id).status == "refunded"
    assert Transfer.objects.get(id=f"{order_id}:refund").amount_minor == PRICE_MINOR
    assert status(order_id) == OrderStatus.EXPIRED
    assert in_flight(order_id) == 0
    assert books_balance()
