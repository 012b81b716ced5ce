"""A signed event moves the payment its reference names, when we know that reference: one that names our
payment by its metadata (or by a refund) but carries another payment's reference moves nothing. The same
rule through the real Stripe adapter and a Stripe-signed body: test_outsider_hot_paths.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_payment_attempts import paid_then_undeliverable, place
from tests.support import fake_payments
from topup.db.models import Order, Payment
from topup.domain.orders import OrderStatus
from topup.ports import RefundState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake(seeded: None, carriers: Carriers) -> Iterator[fake_payments.FakePaymentProvider]:
    with fake_payments.installed() as provider:
        yield provider


def _ref(payment_id: str) -> str:
    return str(Payment.objects.get(id=payment_id).provider_ref)


@pytest.mark.parametrize("event_type", ["payment.failed", "payment.canceled", "payment.processing"])
def test_an_event_naming_another_payments_reference_changes_nothing(
    fake: fake_payments.FakePaymentProvider, event_type: str
) -> None:
    _, a, _ = place("card")
    b_order, b, _ = place("alipay")

    assert fake.send(event_type, b, provider_ref=_ref(a)) == "ignored"

    assert {p.status for p in Payment.objects.filter(id__in=[a, b])} == {"requires_action"}
    assert Order.objects.get(id=b_order).status == OrderStatus.AWAITING_PAYMENT
    # The same event under its own reference does move it (the check above can fail).
    assert fake.send(event_type, b) in {"failed", "processing"}
    assert Payment.objects.get(id=b).status in {"failed", "processing"}
    assert Payment.objects.get(id=a).status == "requires_action"


def test_a_success_under_a_reference_nobody_holds_does_not_pay_a_payment_known_by_another(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order_id, payment_id, _ = place("card")
    fake.succeed_at_provider(payment_id)

    assert fake.send("payment.succeeded", payment_id, provider_ref="pi_somebody_elses") == "ignored"
    assert Order.objects.get(id=order_id).status == OrderStatus.AWAITING_PAYMENT
    assert fake.send("payment.succeeded", payment_id) == "paid"


def test_a_checkout_payment_takes_its_intent_unless_another_payment_holds_it(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """Stored under its checkout ("cs_…"), a payment's PaymentIntent is not known yet: its events may name
    one, but not one another payment holds."""
    _, holder, _ = place("alipay")
    order_id, payment_id, _ = place("card")
    Payment.objects.filter(id=payment_id).update(provider_ref=f"cs_{payment_id}")
    fake.succeed_at_provider(payment_id)

    assert fake.send("payment.failed", payment_id, provider_ref=_ref(holder)) == "ignored"
    assert fake.send("payment.succeeded", payment_id, provider_ref=_ref(holder)) == "ignored"
    assert Order.objects.get(id=order_id).status == OrderStatus.AWAITING_PAYMENT
    assert fake.send("payment.succeeded", payment_id, provider_ref="pi_its_own") == "paid"
    assert _ref(payment_id) == "pi_its_own"


def test_a_completed_checkout_naming_another_payments_intent_pays_nothing(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """Its own checkout ("cs_…", as stored) with another payment's PaymentIntent: the checkout names this
    payment, the money is the other's. Nothing is paid (found by an outsider, signed event, same amount)."""
    _, holder, _ = place("alipay")
    order_id, payment_id, _ = place("card")
    Payment.objects.filter(id=payment_id).update(provider_ref=f"cs_{payment_id}")
    fake.succeed_at_provider(payment_id)

    sent = fake.send(
        "payment.succeeded", payment_id, provider_ref=_ref(holder), checkout_ref=f"cs_{payment_id}"
    )
    assert sent == "ignored"
    assert Order.objects.get(id=order_id).status == OrderStatus.AWAITING_PAYMENT
    assert _ref(payment_id) == f"cs_{payment_id}"
    assert (
        fake.send("payment.succeeded", payment_id, provider_ref="pi_own", checkout_ref=f"cs_{payment_id}")
        == "paid"
    )


def test_another_payments_refund_never_moves_this_one(fake: fake_payments.FakePaymentProvider) -> None:
    fake.refund_state = RefundState.PENDING
    other_order, other = paid_then_undeliverable(fake)
    order_id, payment_id = paid_then_undeliverable(fake)
    run_jobs_until_idle()
    ours = f"re_rfd_{order_id}"
    assert Payment.objects.get(id=payment_id).refund_ref == ours

    for event_type in ("refund.succeeded", "refund.failed", "refund.pending"):
        # another payment's reference with our metadata; our reference with another refund
        assert fake.send(event_type, payment_id, provider_ref=_ref(other), refund_ref=ours) == "ignored"
        assert fake.send(event_type, payment_id, refund_ref=f"re_rfd_{other_order}") == "ignored"
    assert Payment.objects.get(id=payment_id).refund_status == "pending"
    assert Payment.objects.get(id=other).refund_status == "pending"
    assert Order.objects.get(id=order_id).status == OrderStatus.DELIVERY_FAILED

    assert fake.send("refund.succeeded", payment_id, refund_ref=ours) == "refunded"
    assert Order.objects.get(id=order_id).status == OrderStatus.REFUNDED
    assert Payment.objects.get(id=other).refund_status == "pending"
