"""The sandbox adapter against the real payment simulator (a subprocess on loopback) and a webhook receiver.

No database, no Django: the simulator is `python -m topup.simulators.payments`, the receiver is a
threaded `http.server` started here that records every delivery and can refuse the first N.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.processes import free_port, running
from topup.adapters.payments.sandbox import SandboxPaymentProvider
from topup.domain.money import Money
from topup.ports import (
    InvalidSignature,
    PaymentEvent,
    PaymentRequest,
    PaymentStatus,
    PortUnavailable,
    ProviderRequestError,
)

API_KEY = "sk_test_integration"
SECRET = "whsec_integration_current"
OLD_SECRET = "whsec_integration_previous"
WAIT_S = 20.0  # a deadline for asynchronous deliveries, not a timing assertion


# ---------------------------------------------------------------- webhook receiver


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]
    answered: int


class WebhookReceiver:
    """Records deliveries; `fail_first(n, match)` answers 500 to the next n bodies containing `match`."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._failures: dict[str, int] = {}
        self._changed = threading.Condition()

    def fail_first(self, count: int, match: str) -> None:
        with self._changed:
            self._failures[match] = count

    def record(self, body: bytes, headers: dict[str, str]) -> int:
        with self._changed:
            status = 200
            for match, remaining in self._failures.items():
                if remaining > 0 and match.encode() in body:
                    self._failures[match] = remaining - 1
                    status = 500
            self.deliveries.append(Delivery(body, headers, status))
            self._changed.notify_all()
            return status

    def wait_for(self, *matches: str, accepted: int = 1) -> list[Delivery]:
        """Deliveries whose body holds every one of `matches`, once `accepted` of them were answered 2xx."""

        def matching() -> list[Delivery]:
            return [d for d in self.deliveries if all(m.encode() in d.body for m in matches)]

        with self._changed:
            done = self._changed.wait_for(
                lambda: sum(d.answered == 200 for d in matching()) >= accepted, timeout=WAIT_S
            )
            found = matching()
        assert done, f"expected {accepted} accepted deliveries for {matches}, got {found}"
        return found


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the simulator's pooled client expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.record(body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    state = WebhookReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/api/v1/payments/webhooks/sandbox"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- simulators and adapters


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    provider: SandboxPaymentProvider
    hooks: WebhookReceiver


SandboxFactory = Callable[..., Iterator[Sandbox]]


def _start(receiver: tuple[WebhookReceiver, str], *flags: str) -> Iterator[Sandbox]:
    hooks, url = receiver
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    args = ["-m", "topup.simulators.payments", "--port", str(port), "--api-key", API_KEY]
    args += ["--webhook-url", url, "--webhook-secret", SECRET, "--seed", "7", *flags]
    with running(args, ready_url=f"{base_url}/healthz"):
        provider = SandboxPaymentProvider(base_url, API_KEY, [SECRET, OLD_SECRET])
        try:
            yield Sandbox(base_url, provider, hooks)
        finally:
            provider.close()


@pytest.fixture(scope="module")
def sandbox(receiver: tuple[WebhookReceiver, str]) -> Iterator[Sandbox]:
    yield from _start(receiver)


@pytest.fixture(scope="module")
def faulty(receiver: tuple[WebhookReceiver, str]) -> Iterator[Sandbox]:
    yield from _start(receiver, "--duplicate-webhook-rate", "1.0", "--latency-ms", "30")


@pytest.fixture(scope="module")
def declining(receiver: tuple[WebhookReceiver, str]) -> Iterator[Sandbox]:
    yield from _start(receiver, "--decline-rate", "1.0")


def payment(amount_minor: int = 1250, **changes: object) -> PaymentRequest:
    fields: dict[str, object] = {
        "payment_id": f"pay_{uuid.uuid4().hex}",
        "order_id": f"ord_{uuid.uuid4().hex}",
        "amount": Money(amount_minor, "EUR"),
        "method": "bancontact",
        "description": "Proximus top-up 12.50",
    }
    fields.update(changes)
    return PaymentRequest(**fields)  # type: ignore[arg-type]


def checkout(url: str, action: str) -> str:
    answer = httpx.post(url, data={"action": action}, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    return str(answer.json()["status"])


def accepted_event(box: Sandbox, payment_id: str, raw_type: str) -> PaymentEvent:
    """The first accepted delivery of `raw_type` about `payment_id`, verified by the adapter."""
    deliveries = box.hooks.wait_for(payment_id, f'"type":"{raw_type}"')
    accepted = next(d for d in deliveries if d.answered == 200)
    return box.provider.parse_webhook(accepted.body, accepted.headers)


def summary(box: Sandbox) -> dict[str, object]:
    answer = httpx.get(f"{box.base_url}/v1/balance_summary", headers={"Authorization": f"Bearer {API_KEY}"})
    assert answer.status_code == 200
    return dict(answer.json())


# ---------------------------------------------------------------- checkout and webhooks


def test_checkout_page_offers_approve_and_decline(sandbox: Sandbox) -> None:
    result = sandbox.provider.create_payment(payment())
    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.provider_ref.startswith("pi_")
    assert result.checkout_url == f"{sandbox.base_url}/checkout/{result.provider_ref}"
    page = httpx.get(result.checkout_url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in ("Approve", "Decline", 'name="action"', "€12.50", "Bancontact", "viewport"):
        assert text in page.text


def test_approve_sends_signed_succeeded_webhook(sandbox: Sandbox) -> None:
    request = payment()
    result = sandbox.provider.create_payment(request)
    assert checkout(str(result.checkout_url), "approve") == "succeeded"
    event = accepted_event(sandbox, request.payment_id, "payment_intent.succeeded")
    assert event.type == "payment.succeeded"
    assert event.payment_id == request.payment_id
    assert event.provider_ref == result.provider_ref
    assert event.amount == Money(1250, "EUR")
    assert event.failure_code is None
    assert event.event_id.startswith("evt_")
    assert sandbox.provider.get_payment(result.provider_ref).status is PaymentStatus.SUCCEEDED


def test_webhook_is_retried_until_accepted(sandbox: Sandbox) -> None:
    request = payment()
    sandbox.hooks.fail_first(2, request.payment_id)
    result = sandbox.provider.create_payment(request)
    checkout(str(result.checkout_url), "approve")
    deliveries = sandbox.hooks.wait_for(request.payment_id)
    assert [d.answered for d in deliveries] == [500, 500, 200]
    events = {sandbox.provider.parse_webhook(d.body, d.headers).event_id for d in deliveries}
    assert len(events) == 1


def test_decline_sends_payment_failed(sandbox: Sandbox) -> None:
    request = payment(method="card")
    result = sandbox.provider.create_payment(request)
    assert checkout(str(result.checkout_url), "decline") == "requires_payment_method"
    event = accepted_event(sandbox, request.payment_id, "payment_intent.payment_failed")
    assert event.type == "payment.failed"
    assert event.failure_code == "card_declined"
    assert event.payment_id == request.payment_id
    assert sandbox.provider.get_payment(result.provider_ref).status is PaymentStatus.FAILED
    assert checkout(str(result.checkout_url), "approve") == "requires_payment_method"


def test_second_approve_changes_nothing(sandbox: Sandbox) -> None:
    result = sandbox.provider.create_payment(payment())
    events_before = int(str(summary(sandbox)["events"]))
    assert checkout(str(result.checkout_url), "approve") == "succeeded"
    assert checkout(str(result.checkout_url), "approve") == "succeeded"
    assert checkout(str(result.checkout_url), "decline") == "succeeded"
    assert int(str(summary(sandbox)["events"])) == events_before + 1
    page = httpx.post(str(result.checkout_url), data={"action": "approve"})
    assert page.status_code == 200
    assert "Payment approved" in page.text
    assert "<form" not in page.text


def test_checkout_redirects_to_return_url(sandbox: Sandbox) -> None:
    return_url = "http://127.0.0.1:9/orders/ord_1/paid"
    result = sandbox.provider.create_payment(payment(return_url=return_url))
    answer = httpx.post(str(result.checkout_url), data={"action": "approve"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == return_url


def test_unknown_checkout_is_404(sandbox: Sandbox) -> None:
    assert httpx.get(f"{sandbox.base_url}/checkout/pi_missing").status_code == 404
    answer = httpx.post(f"{sandbox.base_url}/checkout/pi_missing", data={"action": "approve"})
    assert answer.status_code == 404


def test_forged_or_replayed_webhook_is_refused(sandbox: Sandbox) -> None:
    request = payment()
    result = sandbox.provider.create_payment(request)
    checkout(str(result.checkout_url), "approve")
    delivery = sandbox.hooks.wait_for(request.payment_id)[-1]
    lower = {name.lower(): value for name, value in delivery.headers.items()}
    assert sandbox.provider.parse_webhook(delivery.body, lower).payment_id == request.payment_id
    with pytest.raises(InvalidSignature):
        sandbox.provider.parse_webhook(delivery.body.replace(b"1250", b"9250"), delivery.headers)
    with pytest.raises(InvalidSignature):
        sandbox.provider.parse_webhook(delivery.body, {})
    late = SandboxPaymentProvider(sandbox.base_url, API_KEY, [SECRET], clock=lambda: 4_000_000_000.0)
    with late, pytest.raises(InvalidSignature):
        late.parse_webhook(delivery.body, delivery.headers)
    rotated = SandboxPaymentProvider(sandbox.base_url, API_KEY, ["whsec_new", SECRET])
    with rotated:
        assert rotated.parse_webhook(delivery.body, delivery.headers).provider_ref == result.provider_ref
    event = sandbox.provider.parse_webhook(delivery.body, delivery.headers)
    assert sandbox.provider.event_from_payload(event.payload) == event


# ---------------------------------------------------------------- idempotency and refusals


def test_create_is_idempotent_per_payment_id(sandbox: Sandbox) -> None:
    request = payment()
    first = sandbox.provider.create_payment(request)
    again = sandbox.provider.create_payment(request)
    assert again.provider_ref == first.provider_ref
    with pytest.raises(ProviderRequestError) as refused:
        sandbox.provider.create_payment(payment(999, payment_id=request.payment_id))
    assert refused.value.status == 409
    assert refused.value.code == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (payment(0), "amount_too_small"),
        (payment(method="bitcoin"), "payment_method_unsupported"),
        (payment(amount=Money(100, "GBP"), return_url="ftp://example.test/"), "url_invalid"),
    ],
)
def test_invalid_create_is_rejected(sandbox: Sandbox, request_: PaymentRequest, code: str) -> None:
    with pytest.raises(ProviderRequestError) as refused:
        sandbox.provider.create_payment(request_)
    assert (refused.value.status, refused.value.code) == (400, code)


def test_bad_currency_is_rejected(sandbox: Sandbox) -> None:
    body = {"amount": 100, "currency": "xyz", "payment_method": "card"}
    answer = httpx.post(
        f"{sandbox.base_url}/v1/payment_intents", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert answer.json()["error"]["code"] == "currency_not_supported"


def test_bad_api_key_is_rejected(sandbox: Sandbox) -> None:
    with SandboxPaymentProvider(sandbox.base_url, "sk_wrong", [SECRET]) as intruder:
        with pytest.raises(ProviderRequestError) as refused:
            intruder.create_payment(payment())
        assert refused.value.status == 401
        with pytest.raises(ProviderRequestError):
            intruder.refund("pi_any", Money(100, "EUR"), "rf_any")
    assert httpx.get(f"{sandbox.base_url}/v1/payment_intents").status_code == 401


def test_unreachable_provider_is_port_unavailable() -> None:
    with SandboxPaymentProvider(f"http://127.0.0.1:{free_port()}", API_KEY, [SECRET]) as nowhere:
        with pytest.raises(PortUnavailable):
            nowhere.create_payment(payment())
        with pytest.raises(PortUnavailable):
            nowhere.refund("pi_any", Money(100, "EUR"), "rf_any")


# ---------------------------------------------------------------- refunds and reconciliation


def _paid(box: Sandbox, amount_minor: int = 1250) -> tuple[PaymentRequest, str]:
    request = payment(amount_minor)
    result = box.provider.create_payment(request)
    assert checkout(str(result.checkout_url), "approve") == "succeeded"
    return request, result.provider_ref


def test_refund_succeeds_and_sends_charge_refunded(sandbox: Sandbox) -> None:
    before = summary(sandbox)["totals"]
    request, ref = _paid(sandbox)
    refund = sandbox.provider.refund(ref, Money(1250, "EUR"), f"rf_{uuid.uuid4().hex}")
    assert refund.succeeded
    assert refund.refund_ref.startswith("re_")
    assert refund.code is None
    event = accepted_event(sandbox, request.payment_id, "charge.refunded")
    assert event.type == "refund.succeeded"
    assert event.provider_ref == ref
    assert event.payment_id == request.payment_id
    assert sandbox.provider.get_payment(ref).status is PaymentStatus.REFUNDED
    after = summary(sandbox)["totals"]
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    previous = before.get("eur", {"captured": 0, "refunded": 0})
    assert after["eur"]["captured"] - previous["captured"] == 1250
    assert after["eur"]["refunded"] - previous["refunded"] == 1250


def test_same_refund_id_refunds_once(sandbox: Sandbox) -> None:
    _, ref = _paid(sandbox)
    refund_id = f"rf_{uuid.uuid4().hex}"
    first = sandbox.provider.refund(ref, Money(500, "EUR"), refund_id)
    again = sandbox.provider.refund(ref, Money(500, "EUR"), refund_id)
    assert first.succeeded
    assert again == first
    intent = next(i for i in sandbox.provider.list_payments() if i["id"] == ref)
    assert intent["amount_refunded"] == 500
    assert isinstance(intent["refunds"], list)
    assert len(intent["refunds"]) == 1
    rest = sandbox.provider.refund(ref, Money(750, "EUR"), f"rf_{uuid.uuid4().hex}")
    assert rest.succeeded
    extra = sandbox.provider.refund(ref, Money(1, "EUR"), f"rf_{uuid.uuid4().hex}")
    assert (extra.succeeded, extra.code) == (False, "charge_already_refunded")
    assert sandbox.provider.refund(ref, Money(500, "EUR"), refund_id) == first  # replayed, not refused


def test_refund_refusals_are_results(sandbox: Sandbox) -> None:
    pending = sandbox.provider.create_payment(payment())
    refused = sandbox.provider.refund(pending.provider_ref, Money(100, "EUR"), f"rf_{uuid.uuid4().hex}")
    assert (refused.succeeded, refused.code) == (False, "charge_not_captured")
    _, ref = _paid(sandbox, 1000)
    too_much = sandbox.provider.refund(ref, Money(1001, "EUR"), f"rf_{uuid.uuid4().hex}")
    assert (too_much.succeeded, too_much.code) == (False, "amount_too_large")
    missing = sandbox.provider.refund("pi_missing", Money(100, "EUR"), f"rf_{uuid.uuid4().hex}")
    assert (missing.succeeded, missing.code) == (False, "resource_missing")


def test_list_pages_in_creation_order(sandbox: Sandbox) -> None:
    refs = [sandbox.provider.create_payment(payment()).provider_ref for _ in range(3)]
    listed = [str(i["id"]) for i in sandbox.provider.list_payments()]
    assert listed[-3:] == refs
    headers = {"Authorization": f"Bearer {API_KEY}"}
    url = f"{sandbox.base_url}/v1/payment_intents"
    page = httpx.get(url, params={"limit": 2, "starting_after": refs[0]}, headers=headers).json()
    assert [i["id"] for i in page["data"]] == refs[1:]
    assert page["has_more"] is False
    first = httpx.get(url, params={"limit": 1}, headers=headers).json()
    assert first["has_more"] is True
    assert httpx.get(url, params={"limit": 0}, headers=headers).status_code == 400


# ---------------------------------------------------------------- fault flags


def test_duplicate_webhook_rate_sends_each_event_twice(faulty: Sandbox) -> None:
    request = payment()
    result = faulty.provider.create_payment(request)
    checkout(str(result.checkout_url), "approve")
    deliveries = faulty.hooks.wait_for(request.payment_id, accepted=2)
    events = [faulty.provider.parse_webhook(d.body, d.headers) for d in deliveries]
    assert len(events) == 2
    assert events[0].event_id == events[1].event_id
    assert deliveries[0].body == deliveries[1].body


def test_latency_flag_keeps_the_api_working(faulty: Sandbox) -> None:
    request = payment()
    result = faulty.provider.create_payment(request)
    assert faulty.provider.get_payment(result.provider_ref).provider_ref == result.provider_ref
    assert faulty.provider.create_payment(request).provider_ref == result.provider_ref


def test_decline_rate_declines_approved_payments(declining: Sandbox) -> None:
    request = payment(method="alipay")
    result = declining.provider.create_payment(request)
    assert checkout(str(result.checkout_url), "approve") == "requires_payment_method"
    event = accepted_event(declining, request.payment_id, "payment_intent.payment_failed")
    assert event.failure_code == "card_declined"
