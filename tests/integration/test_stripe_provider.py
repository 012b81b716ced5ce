"""The Stripe adapter, through the unmodified `stripe` SDK, against the payment simulator (Stripe's API).

The simulator runs as a process on loopback; a threaded receiver records the signed events it sends.
Nothing of the SDK is mocked: what passes here is what the SDK sends and understands.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import segno
import stripe

from tests.support.stripe_sim import API_KEY, OLD_SECRET, SECRET, WebhookReceiver, admin, receiving, simulator
from topup.adapters.payments.signature import sign
from topup.adapters.payments.stripe import StripePaymentProvider
from topup.domain.money import Money
from topup.ports import (
    InvalidSignature,
    NextActionKind,
    PaymentEvent,
    PaymentRequest,
    PaymentStatus,
    PortUnavailable,
    ProviderRequestError,
    RefundState,
)
from topup.settings import DEFAULT_STRIPE_API_VERSION

RETURN_URL = "https://topup.example/orders/ord_1?token=t0k"


@dataclass(frozen=True)
class Sim:
    base_url: str
    provider: StripePaymentProvider
    hooks: WebhookReceiver
    sdk: stripe.StripeClient

    def faults(self, **settings: float) -> None:
        with admin(self.base_url) as client:
            client.post("/faults", json=settings).raise_for_status()


def _provider(base_url: str, *secrets: str, timeout_s: float = 10.0) -> StripePaymentProvider:
    """Cards confirmed with a test PaymentMethod (PaymentIntents directly; Checkout: test_stripe_checkout)."""
    return StripePaymentProvider(
        base_url,
        API_KEY,
        secrets,
        DEFAULT_STRIPE_API_VERSION,
        timeout_s=timeout_s,
        card_flow="payment_method",
    )


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    with receiving() as state:
        yield state


@pytest.fixture(scope="module")
def sim(receiver: tuple[WebhookReceiver, str]) -> Iterator[Sim]:
    hooks, url = receiver
    with simulator(url, "--refund-delay-ms", "100") as base_url:
        sdk = stripe.StripeClient(API_KEY, base_addresses={"api": base_url}, max_network_retries=0)
        yield Sim(base_url, _provider(base_url, SECRET, OLD_SECRET), hooks, sdk)


@pytest.fixture
def clean(sim: Sim) -> Iterator[Sim]:
    """The module's simulator with every fault off before and after the test."""
    off = {"latency_ms": 0, "error_rate": 0, "timeout_rate": 0, "decline_rate": 0, "refund_failure_rate": 0}
    sim.faults(**off)
    yield sim
    sim.faults(**off)


def payment(
    method: str = "card", amount_minor: int = 1250, currency: str = "EUR", **changes: object
) -> PaymentRequest:
    fields: dict[str, object] = {
        "payment_id": f"pay_{uuid.uuid4().hex}",
        "order_id": f"ord_{uuid.uuid4().hex}",
        "amount": Money(amount_minor, currency),
        "method": method,
        "description": "Proximus top-up 12.50",
        "return_url": RETURN_URL,
    }
    fields.update(changes)
    return PaymentRequest(**fields)  # type: ignore[arg-type]


def act(url: str, action: str) -> str:
    answer = httpx.post(url, data={"action": action}, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    return str(answer.json()["status"])


def event(sim: Sim, *matches: str, raw_type: str) -> PaymentEvent:
    """The first accepted delivery of `raw_type` holding every one of `matches`, verified by the adapter."""
    deliveries = sim.hooks.wait_for(*matches, f'"type":"{raw_type}"')
    accepted = next(d for d in deliveries if d.answered == 200)
    return sim.provider.parse_webhook(accepted.body, accepted.headers)


def paid(
    sim: Sim, method: str = "card", amount_minor: int = 1250, currency: str = "EUR"
) -> tuple[PaymentRequest, str]:
    request = payment(method, amount_minor, currency)
    result = sim.provider.create_payment(request)
    assert act(str(result.checkout_url), "approve") == "succeeded"
    return request, result.provider_ref


# ---------------------------------------------------------------- the four methods


def test_card_asks_for_3d_secure_then_returns_to_us(clean: Sim) -> None:
    request = payment("card")
    result = clean.provider.create_payment(request)
    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.next_action is not None
    assert result.next_action.kind is NextActionKind.REDIRECT
    assert result.checkout_url == result.next_action.url == f"{clean.base_url}/checkout/{result.provider_ref}"
    assert "3-D Secure" in httpx.get(str(result.checkout_url)).text
    back = httpx.post(str(result.checkout_url), data={"action": "approve"})
    assert back.status_code == 303
    location = urlsplit(back.headers["location"])
    query = parse_qs(location.query)
    assert location.path == "/orders/ord_1"
    assert query["token"] == ["t0k"]
    assert query["payment_intent"] == [result.provider_ref]
    assert query["redirect_status"] == ["succeeded"]
    succeeded = event(clean, request.payment_id, raw_type="payment_intent.succeeded")
    assert (succeeded.type, succeeded.amount, succeeded.payment_id) == (
        "payment.succeeded",
        Money(1250, "EUR"),
        request.payment_id,
    )
    assert clean.provider.get_payment(result.provider_ref).status is PaymentStatus.SUCCEEDED


def test_a_test_card_without_3d_secure_succeeds_at_once_and_a_declined_one_fails(clean: Sim) -> None:
    visa = StripePaymentProvider(
        clean.base_url, API_KEY, [SECRET], DEFAULT_STRIPE_API_VERSION, card_payment_method="pm_card_visa",
        card_flow="payment_method",
    )  # fmt: skip
    assert visa.create_payment(payment("card")).status is PaymentStatus.SUCCEEDED
    declined = StripePaymentProvider(
        clean.base_url,
        API_KEY,
        [SECRET],
        DEFAULT_STRIPE_API_VERSION,
        card_payment_method="pm_card_chargeDeclined",
        card_flow="payment_method",
    )
    result = declined.create_payment(payment("card"))
    assert result.status is PaymentStatus.FAILED
    assert declined.get_payment(result.provider_ref).status is PaymentStatus.FAILED


def test_3d_secure_declined_fails_with_card_declined(clean: Sim) -> None:
    request = payment("card")
    result = clean.provider.create_payment(request)
    back = httpx.post(str(result.checkout_url), data={"action": "decline"})
    assert parse_qs(urlsplit(back.headers["location"]).query)["redirect_status"] == ["failed"]
    failed = event(clean, request.payment_id, raw_type="payment_intent.payment_failed")
    assert (failed.type, failed.failure_code) == ("payment.failed", "card_declined")
    assert clean.provider.get_payment(result.provider_ref).status is PaymentStatus.FAILED


def test_bancontact_in_eur_redirects_to_the_bank(clean: Sim) -> None:
    result = clean.provider.create_payment(payment("bancontact"))
    assert result.next_action is not None
    assert result.next_action.kind is NextActionKind.REDIRECT
    assert result.raw["next_action"]["type"] == "redirect_to_url"  # type: ignore[index]
    assert act(str(result.checkout_url), "approve") == "succeeded"


@pytest.mark.parametrize("currency", ["USD", "CNY", "GBP"])
def test_bancontact_in_another_currency_is_refused_with_stripes_error(clean: Sim, currency: str) -> None:
    with pytest.raises(ProviderRequestError) as refused:
        clean.provider.create_payment(payment("bancontact", currency=currency))
    assert (refused.value.status, refused.value.code) == (400, "payment_intent_invalid_currency")
    with pytest.raises(stripe.InvalidRequestError) as raw:
        clean.sdk.v1.payment_intents.create(
            params={"amount": 1000, "currency": currency.lower(), "payment_method_types": ["bancontact"]}
        )
    assert raw.value.param == "currency"
    assert raw.value.error is not None
    assert raw.value.error.type == "invalid_request_error"
    assert "eur" in str(raw.value.user_message)


def test_alipay_redirects_and_returns(clean: Sim) -> None:
    request = payment("alipay", 8800, "CNY")
    result = clean.provider.create_payment(request)
    action = result.raw["next_action"]
    assert action["type"] == "alipay_handle_redirect"  # type: ignore[index]
    assert action["alipay_handle_redirect"]["return_url"] == RETURN_URL  # type: ignore[index]
    assert result.next_action is not None
    assert result.next_action.kind is NextActionKind.REDIRECT
    back = httpx.post(str(result.next_action.url), data={"action": "approve"})
    assert parse_qs(urlsplit(back.headers["location"]).query)["redirect_status"] == ["succeeded"]
    assert event(clean, request.payment_id, raw_type="payment_intent.succeeded").amount == Money(8800, "CNY")


def test_wechat_pay_shows_a_qr_code_of_the_payment_data(clean: Sim) -> None:
    result = clean.provider.create_payment(payment("wechat_pay", 8800, "CNY"))
    action = result.next_action
    assert action is not None
    assert action.kind is NextActionKind.DISPLAY_QR
    assert action.qr_data is not None
    assert action.qr_data.startswith("weixin://wxpay/bizpayurl?pr=")
    assert action.instructions_url == result.checkout_url
    qr = result.raw["next_action"]["wechat_pay_display_qr_code"]  # type: ignore[index]
    assert qr["image_data_url"] == segno.make(action.qr_data, error="m").png_data_uri(scale=5, border=2)
    assert httpx.get(qr["image_url_png"]).headers["content-type"] == "image/png"
    assert "<svg" in httpx.get(qr["image_url_svg"]).text
    assert 'id="qr"' in httpx.get(str(action.instructions_url)).text
    assert act(str(action.instructions_url), "approve") == "succeeded"  # the phone scanned and paid


def test_wechat_pay_without_the_web_client_is_refused(clean: Sim) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        clean.sdk.v1.payment_intents.create(
            params={
                "amount": 1000, "currency": "cny", "payment_method_types": ["wechat_pay"], "confirm": True,
                "payment_method_data": {"type": "wechat_pay"}, "return_url": RETURN_URL,
            }
        )  # fmt: skip
    assert refused.value.http_status == 400
    assert refused.value.param == "payment_method_options[wechat_pay][client]"


# ---------------------------------------------------------------- idempotency


def test_same_key_same_parameters_replays_and_other_parameters_are_refused(clean: Sim) -> None:
    request = payment("alipay")
    first = clean.provider.create_payment(request)
    again = clean.provider.create_payment(request)
    assert again.provider_ref == first.provider_ref
    with pytest.raises(ProviderRequestError) as refused:
        clean.provider.create_payment(payment("alipay", 999, payment_id=request.payment_id))
    assert (refused.value.status, refused.value.code) == (400, "idempotency_error")
    replay = clean.sdk.v1.payment_intents.create(
        params={"amount": 500, "currency": "eur"}, options={"idempotency_key": f"k_{uuid.uuid4().hex}"}
    )
    key = str(replay.last_response.headers.get("Idempotency-Key"))
    replayed = clean.sdk.v1.payment_intents.create(
        params={"amount": 500, "currency": "eur"}, options={"idempotency_key": key}
    )
    assert replayed.id == replay.id
    assert replayed.last_response.headers.get("Idempotent-Replayed") == "true"


def test_an_error_is_stored_and_replayed_too(clean: Sim) -> None:
    key = f"k_{uuid.uuid4().hex}"
    answers = []
    for _ in range(2):
        answers.append(
            httpx.post(
                f"{clean.base_url}/v1/payment_intents",
                data={"amount": "1000", "currency": "usd", "payment_method_types[0]": "bancontact"},
                headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": key},
            )
        )
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json()
    assert answers[1].headers.get("Idempotent-Replayed") == "true"


def test_the_same_key_while_the_first_request_runs_is_a_conflict(clean: Sim) -> None:
    clean.faults(latency_ms=400)
    key = f"k_{uuid.uuid4().hex}"
    statuses: list[int] = []

    def send() -> None:
        answer = httpx.post(
            f"{clean.base_url}/v1/payment_intents", data={"amount": "700", "currency": "eur"},
            headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": key}, timeout=10,
        )  # fmt: skip
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)  # the first holds the key while it waits out the latency
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]


# ---------------------------------------------------------------- cancel


def test_cancel_before_payment_and_after_success(clean: Sim) -> None:
    request = payment("alipay")
    waiting = clean.provider.create_payment(request)
    cancelled = clean.provider.cancel_payment(waiting.provider_ref, f"cancel_{request.payment_id}")
    assert cancelled.status is PaymentStatus.FAILED
    assert cancelled.raw["status"] == "canceled"
    assert event(clean, request.payment_id, raw_type="payment_intent.canceled").type == "payment.canceled"
    assert act(str(waiting.checkout_url), "approve") == "canceled"  # too late: nothing happens
    _, ref = paid(clean)
    assert clean.provider.cancel_payment(ref, f"cancel_{ref}").status is PaymentStatus.SUCCEEDED
    with pytest.raises(stripe.InvalidRequestError) as refused:
        clean.sdk.v1.payment_intents.cancel(ref)
    assert refused.value.code == "payment_intent_unexpected_state"


# ---------------------------------------------------------------- refunds


def test_card_refund_succeeds_at_once(clean: Sim) -> None:
    request, ref = paid(clean)
    refund = clean.provider.refund(ref, Money(1250, "EUR"), f"rfd_{uuid.uuid4().hex}")
    assert (refund.succeeded, refund.state) == (True, RefundState.SUCCEEDED)
    refunded = event(clean, ref, raw_type="charge.refunded")
    assert (refunded.type, refunded.payment_id, refunded.amount) == (
        "refund.succeeded",
        request.payment_id,
        Money(1250, "EUR"),
    )
    assert clean.provider.get_payment(ref).status is PaymentStatus.REFUNDED
    again = clean.provider.refund(ref, Money(1, "EUR"), f"rfd_{uuid.uuid4().hex}")
    assert (again.succeeded, again.code) == (False, "charge_already_refunded")


def test_alipay_refund_is_pending_then_succeeds(clean: Sim) -> None:
    _, ref = paid(clean, "alipay", 8800, "CNY")
    refund_id = f"rfd_{uuid.uuid4().hex}"
    refund = clean.provider.refund(ref, Money(8800, "CNY"), refund_id)
    assert (refund.succeeded, refund.state) == (False, RefundState.PENDING)
    updated = event(clean, refund.refund_ref, raw_type="refund.updated")
    assert (updated.type, updated.refund_ref, updated.refund_id, updated.provider_ref) == (
        "refund.succeeded",
        refund.refund_ref,
        refund_id,
        ref,
    )
    replayed = clean.provider.refund(ref, Money(8800, "CNY"), refund_id)
    assert replayed == refund  # Stripe replays the first answer; the list says how it ended
    [listed] = clean.provider.list_refunds(datetime.now(UTC) - timedelta(minutes=1), provider_ref=ref)
    assert (listed.refund_id, listed.state) == (refund_id, RefundState.SUCCEEDED)


def test_wechat_refund_fails_under_the_fault_and_says_why(clean: Sim) -> None:
    clean.faults(refund_failure_rate=1.0)
    _, ref = paid(clean, "wechat_pay", 5000, "CNY")
    refund = clean.provider.refund(ref, Money(5000, "CNY"), f"rfd_{uuid.uuid4().hex}")
    assert refund.state is RefundState.PENDING
    failed = event(clean, refund.refund_ref, raw_type="refund.failed")
    assert (failed.type, failed.failure_code, failed.refund_ref) == (
        "refund.failed",
        "declined",
        refund.refund_ref,
    )
    updated = event(clean, refund.refund_ref, raw_type="refund.updated")
    assert updated.type == "refund.failed"
    assert clean.provider.get_payment(ref).status is PaymentStatus.SUCCEEDED  # the money is still taken


def test_refund_refusals_are_results(clean: Sim) -> None:
    waiting = clean.provider.create_payment(payment())
    refused = clean.provider.refund(waiting.provider_ref, Money(100, "EUR"), f"rfd_{uuid.uuid4().hex}")
    assert (refused.succeeded, refused.code) == (False, "charge_not_captured")
    _, ref = paid(clean, amount_minor=1000)
    too_much = clean.provider.refund(ref, Money(1001, "EUR"), f"rfd_{uuid.uuid4().hex}")
    assert (too_much.succeeded, too_much.code) == (False, "amount_too_large")
    missing = clean.provider.refund("pi_missing", Money(100, "EUR"), f"rfd_{uuid.uuid4().hex}")
    assert (missing.succeeded, missing.code) == (False, "resource_missing")


# ---------------------------------------------------------------- lists


def test_lists_page_newest_first_from_created_gte(clean: Sim) -> None:
    since = datetime.now(UTC) - timedelta(seconds=2)
    refs = [clean.provider.create_payment(payment("alipay")).provider_ref for _ in range(3)]
    listed = [p.provider_ref for p in clean.provider.list_payments(since)]
    assert listed[:3] == refs[::-1]
    page = clean.sdk.v1.payment_intents.list(
        params={"limit": 2, "starting_after": refs[2], "created": {"gte": int(since.timestamp())}}
    )
    assert page.object == "list"
    assert page.url == "/v1/payment_intents"
    assert [i.id for i in page.data] == [refs[1], refs[0]]
    future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    empty = clean.sdk.v1.payment_intents.list(params={"created": {"gte": future}})
    assert (empty.data, empty.has_more) == ([], False)
    first = clean.sdk.v1.payment_intents.list(params={"limit": 1})
    assert first.has_more is True
    with pytest.raises(stripe.InvalidRequestError):
        clean.sdk.v1.payment_intents.list(params={"limit": 0})


# ---------------------------------------------------------------- webhooks


def test_webhook_signatures_verify_under_rotated_secrets_only(clean: Sim) -> None:
    request = payment("bancontact")
    result = clean.provider.create_payment(request)
    act(str(result.checkout_url), "approve")
    delivery = clean.hooks.wait_for(request.payment_id, '"type":"payment_intent.succeeded"')[-1]
    lower = {k.lower(): v for k, v in delivery.headers.items()}
    assert clean.provider.parse_webhook(delivery.body, lower).payment_id == request.payment_id
    rotated = _provider(clean.base_url, "whsec_next", SECRET)
    assert rotated.parse_webhook(delivery.body, delivery.headers).payment_id == request.payment_id
    with pytest.raises(InvalidSignature):
        _provider(clean.base_url, "whsec_next").parse_webhook(delivery.body, delivery.headers)
    with pytest.raises(InvalidSignature):
        clean.provider.parse_webhook(delivery.body.replace(b"1250", b"9250"), delivery.headers)
    with pytest.raises(InvalidSignature):
        clean.provider.parse_webhook(delivery.body, {})
    stale = sign(delivery.body, SECRET, int(time.time()) - 3600)
    with pytest.raises(InvalidSignature):
        clean.provider.parse_webhook(delivery.body, {"Stripe-Signature": stale})
    parsed = clean.provider.parse_webhook(delivery.body, delivery.headers)
    assert clean.provider.event_from_payload(parsed.payload) == parsed
    assert parsed.payload["api_version"] == DEFAULT_STRIPE_API_VERSION


def test_webhook_is_retried_until_accepted(clean: Sim) -> None:
    request = payment()
    clean.hooks.fail_first(2, request.payment_id)
    result = clean.provider.create_payment(request)
    deliveries = clean.hooks.wait_for(request.payment_id, '"type":"payment_intent.requires_action"')
    assert [d.answered for d in deliveries] == [500, 500, 200]
    assert result.provider_ref


def test_requires_action_and_processing_events(clean: Sim) -> None:
    clean.faults(processing_ms=150)
    try:
        request = payment("alipay")
        result = clean.provider.create_payment(request)
        assert event(clean, request.payment_id, raw_type="payment_intent.requires_action").type == (
            "payment.requires_action"
        )
        assert act(str(result.checkout_url), "approve") == "processing"
        assert (
            event(clean, request.payment_id, raw_type="payment_intent.processing").type
            == "payment.processing"
        )
        assert (
            event(clean, request.payment_id, raw_type="payment_intent.succeeded").type == "payment.succeeded"
        )
    finally:
        clean.faults(processing_ms=0)


# ---------------------------------------------------------------- errors and faults


def test_server_errors_and_timeouts_are_unknown_outcomes(clean: Sim) -> None:
    clean.faults(error_rate=1.0)
    with pytest.raises(PortUnavailable):
        clean.provider.create_payment(payment())
    clean.faults(error_rate=0.0, timeout_rate=1.0, timeout_sleep_s=3.0)
    impatient = _provider(clean.base_url, SECRET, timeout_s=0.5)
    request = payment("alipay")
    with pytest.raises(PortUnavailable):
        impatient.create_payment(request)  # done at the provider, the answer lost
    clean.faults(timeout_rate=0.0)
    time.sleep(0.1)
    again = clean.provider.create_payment(request)  # the same key finds the first attempt
    assert again.status is PaymentStatus.REQUIRES_ACTION


def test_bad_api_key_is_a_request_error(clean: Sim) -> None:
    intruder = StripePaymentProvider(clean.base_url, "sk_wrong", [SECRET], DEFAULT_STRIPE_API_VERSION)
    with pytest.raises(ProviderRequestError) as refused:
        intruder.create_payment(payment())
    assert refused.value.status == 401
    basic = httpx.get(f"{clean.base_url}/v1/payment_intents", auth=(API_KEY, ""))
    assert basic.status_code == 200
    assert httpx.get(f"{clean.base_url}/v1/payment_intents").status_code == 401
    assert httpx.get(f"{clean.base_url}/_sim/summary").status_code == 401


def test_decline_fault_declines_an_approval(clean: Sim) -> None:
    clean.faults(decline_rate=1.0)
    request = payment("alipay")
    result = clean.provider.create_payment(request)
    assert act(str(result.checkout_url), "approve") == "requires_payment_method"
    assert (
        event(clean, request.payment_id, raw_type="payment_intent.payment_failed").failure_code
        == "card_declined"
    )


def test_duplicate_fault_sends_each_event_twice(clean: Sim) -> None:
    clean.faults(duplicate_webhook_rate=1.0)
    try:
        request = payment()
        clean.provider.create_payment(request)
        deliveries = clean.hooks.wait_for(request.payment_id, accepted=2)
        events = [clean.provider.parse_webhook(d.body, d.headers) for d in deliveries]
        assert events[0].event_id == events[1].event_id
    finally:
        clean.faults(duplicate_webhook_rate=0.0)
