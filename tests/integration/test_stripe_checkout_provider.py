"""The Stripe adapter's card payments by Checkout Session, through the unmodified SDK, on the simulator."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.stripe_sim import API_KEY, SECRET, WebhookReceiver, receiving, simulator
from topup.adapters.payments.stripe import StripePaymentProvider, with_query
from topup.clock import new_id
from topup.domain.money import Money
from topup.ports import NextActionKind, PaymentEvent, PaymentRequest, PaymentStatus, ProviderRequestError
from topup.settings import DEFAULT_STRIPE_API_VERSION

RETURN_URL = "https://topup.example/orders/ord_1?token=t0k"
VISA = {"number": "4242424242424242", "exp": "12/34", "cvc": "123"}
THREE_D_SECURE = {"number": "4000002500003155", "exp": "12/34", "cvc": "123"}


@dataclass
class Sim:
    base_url: str
    provider: StripePaymentProvider
    hooks: WebhookReceiver


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    with receiving() as (hooks, url), simulator(url) as base_url:
        provider = StripePaymentProvider(base_url, API_KEY, [SECRET], DEFAULT_STRIPE_API_VERSION)
        yield Sim(base_url, provider, hooks)


def card(amount_minor: int = 1250) -> PaymentRequest:
    return PaymentRequest(
        payment_id=new_id("pay"), order_id=f"ord_{uuid.uuid4().hex[:12]}", amount=Money(amount_minor, "EUR"),
        method="card", description="Top-up proximus-credit-10", return_url=RETURN_URL,
    )  # fmt: skip


def type_card(url: str, number: dict[str, str]) -> dict[str, object]:
    answer = httpx.post(url, data=number, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def event(sim: Sim, payment_id: str, raw_type: str) -> PaymentEvent:
    deliveries = sim.hooks.wait_for(payment_id, f'"type":"{raw_type}"')
    accepted = next(d for d in deliveries if d.answered == 200)
    return sim.provider.parse_webhook(accepted.body, accepted.headers)


def test_a_card_payment_is_a_checkout_session_to_redirect_to(sim: Sim) -> None:
    request = card()
    result = sim.provider.create_payment(request)
    assert result.provider_ref.startswith("cs_test_")
    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.next_action is not None
    assert result.next_action.kind is NextActionKind.REDIRECT
    assert result.checkout_url == result.next_action.url == f"{sim.base_url}/checkout/{result.provider_ref}"
    assert result.raw["success_url"] == f"{RETURN_URL}&session_id={{CHECKOUT_SESSION_ID}}"
    assert result.raw["cancel_url"] == RETURN_URL
    assert result.raw["client_reference_id"] == request.order_id
    assert result.raw["metadata"] == {"order_id": request.order_id, "payment_id": request.payment_id}
    assert 30 * 60 <= int(str(result.raw["expires_at"])) - int(str(result.raw["created"])) <= 33 * 60


def test_creating_a_session_again_with_the_same_payment_id_gives_the_same_session(sim: Sim) -> None:
    request = card()
    first = sim.provider.create_payment(request)
    assert sim.provider.create_payment(request).provider_ref == first.provider_ref
    other = dataclasses.replace(request, amount=Money(999, "EUR"))
    with pytest.raises(ProviderRequestError) as refused:
        sim.provider.create_payment(other)
    assert refused.value.code == "idempotency_error"


def test_3d_secure_on_the_session_then_its_events_name_the_payment_intent(sim: Sim) -> None:
    request = card()
    result = sim.provider.create_payment(request)
    typed = type_card(str(result.checkout_url), THREE_D_SECURE)
    assert (typed["status"], typed["next_action_url"]) == (
        "open",
        f"{sim.base_url}/checkout/{typed['payment_intent']}",
    )
    back = httpx.post(str(typed["next_action_url"]), data={"action": "approve"})
    to_session = httpx.get(back.headers["location"])
    assert to_session.headers["location"] == f"{RETURN_URL}&session_id={result.provider_ref}"

    intent_event = event(sim, request.payment_id, "payment_intent.succeeded")
    session_event = event(sim, request.payment_id, "checkout.session.completed")
    for reduced in (intent_event, session_event):
        assert (reduced.type, reduced.provider_ref, reduced.payment_id, reduced.amount) == (
            "payment.succeeded", typed["payment_intent"], request.payment_id, Money(1250, "EUR"),
        )  # fmt: skip
    now = sim.provider.get_payment(result.provider_ref)
    assert (now.status, now.payment_ref) == (PaymentStatus.SUCCEEDED, typed["payment_intent"])
    # A paid session cannot be expired: cancelling it answers SUCCEEDED (the caller refunds, never twice).
    cancelled = sim.provider.cancel_payment(result.provider_ref, f"cancel_{request.payment_id}")
    assert (cancelled.status, cancelled.payment_ref) == (PaymentStatus.SUCCEEDED, typed["payment_intent"])
    # A refund asked under the session's reference goes to its PaymentIntent.
    refund = sim.provider.refund(result.provider_ref, Money(1250, "EUR"), f"rfd_{request.payment_id}")
    assert refund.succeeded
    assert sim.provider.get_payment(result.provider_ref).status is PaymentStatus.REFUNDED
    assert sim.provider.get_payment(str(typed["payment_intent"])).status is PaymentStatus.REFUNDED


def test_cancelling_an_open_session_expires_it_and_its_declined_intent(sim: Sim) -> None:
    request = card()
    result = sim.provider.create_payment(request)
    declined = type_card(str(result.checkout_url), {**VISA, "number": "4000000000000002"})
    assert declined["status"] == "open"
    assert event(sim, request.payment_id, "payment_intent.payment_failed").type == "payment.failed"
    cancelled = sim.provider.cancel_payment(result.provider_ref, f"cancel_{request.payment_id}")
    assert cancelled.status is PaymentStatus.FAILED
    again = sim.provider.cancel_payment(result.provider_ref, f"cancel_{request.payment_id}")
    assert again.status is PaymentStatus.FAILED  # the same key replays
    expired = event(sim, request.payment_id, "checkout.session.expired")
    assert (expired.type, expired.provider_ref) == ("payment.canceled", result.provider_ref)
    assert event(sim, request.payment_id, "payment_intent.canceled").type == "payment.canceled"
    assert type_card(str(result.checkout_url), VISA)["status"] == "expired"


def test_the_payment_method_flow_stays_for_stripes_test_mode(sim: Sim) -> None:
    tests_only = StripePaymentProvider(
        sim.base_url, API_KEY, [SECRET], DEFAULT_STRIPE_API_VERSION, card_payment_method="pm_card_visa",
        card_flow="payment_method",
    )  # fmt: skip
    result = tests_only.create_payment(card())
    assert (result.provider_ref[:3], result.status) == ("pi_", PaymentStatus.SUCCEEDED)
    with pytest.raises(ValueError, match="card_flow"):
        StripePaymentProvider(
            sim.base_url, API_KEY, [SECRET], DEFAULT_STRIPE_API_VERSION, card_flow="elements"
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://t.example/orders/o1", "https://t.example/orders/o1?session_id={CHECKOUT_SESSION_ID}"),
        ("https://t.example/o?token=a", "https://t.example/o?token=a&session_id={CHECKOUT_SESSION_ID}"),
        ("https://t.example/o?t=a#top", "https://t.example/o?t=a&session_id={CHECKOUT_SESSION_ID}#top"),
    ],
)
def test_the_success_url_carries_stripes_session_template(url: str, expected: str) -> None:
    assert with_query(url, {"session_id": "{CHECKOUT_SESSION_ID}"}) == expected
