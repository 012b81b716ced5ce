"""A test double of the PaymentProvider port, registered in the wiring like any adapter: it records the
calls the services make, answers with the next actions each method has at Stripe (a redirect, or WeChat
Pay's QR code), and lets a test send the events a provider would, through the webhook path (a fake
signature check, the inbox, `services.payments.apply_event`).

Used for the services' own rules (races, limits, every event order); the same paths against the Stripe
simulator through the real SDK are in test_payment_retry.py and test_stripe_refunds_end_to_end.py.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from tests.support import wired
from topup import wiring
from topup.db.models import Payment
from topup.domain.money import Money
from topup.ports import (
    InvalidSignature,
    NextAction,
    NextActionKind,
    PaymentEvent,
    PaymentRequest,
    PaymentResult,
    PaymentStatus,
    RefundResult,
    RefundState,
    UnusableEvent,
)
from topup.services import payments
from topup.settings import CONFIG

NAME = "fake"
SIGNATURE_HEADER = "X-Fake-Signature"
METHODS = ("card", "bancontact", "alipay", "wechat_pay")


@dataclass
class Intent:
    request: PaymentRequest
    status: PaymentStatus = PaymentStatus.REQUIRES_ACTION


@dataclass
class FakePaymentProvider:
    name: str = NAME
    checkout_ref_prefix: str = "cs_"  # ports.HostedCheckoutProvider: "cs_…" names a hosted checkout
    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, provider_ref or payment id)
    intents: dict[str, Intent] = field(default_factory=dict)
    refund_state: RefundState = RefundState.SUCCEEDED  # what `refund` answers
    refunds: list[tuple[str, Money, str]] = field(default_factory=list)  # (provider_ref, amount, refund_id)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _events: Iterator[int] = field(default_factory=itertools.count)

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        ref = f"pi_{request.payment_id}"
        with self._lock:
            self.calls.append(("create", request.payment_id))
            intent = self.intents.setdefault(ref, Intent(request))
        return self._result(ref, intent)

    def _result(self, ref: str, intent: Intent) -> PaymentResult:
        action = None
        if intent.status is PaymentStatus.REQUIRES_ACTION:
            if intent.request.method == "wechat_pay":
                action = NextAction(
                    NextActionKind.DISPLAY_QR, qr_data=f"weixin://wxpay/bizpayurl?pr={ref}",
                    instructions_url=f"https://pay.example/wechat/{ref}/instructions",
                )  # fmt: skip
            else:
                action = NextAction(
                    NextActionKind.REDIRECT, url=f"https://pay.example/{intent.request.method}/{ref}"
                )
        return PaymentResult(ref, intent.status, action.url if action else None, next_action=action)

    def get_payment(self, provider_ref: str) -> PaymentResult:
        self.calls.append(("get", provider_ref))
        return self._result(provider_ref, self.intents[provider_ref])

    def cancel_payment(self, provider_ref: str, idempotency_key: str) -> PaymentResult:
        with self._lock:
            self.calls.append(("cancel", provider_ref))
            intent = self.intents[provider_ref]
            if intent.status not in {PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING}:  # as Stripe
                intent.status = PaymentStatus.FAILED
        return self._result(provider_ref, intent)

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        with self._lock:
            self.calls.append(("refund", provider_ref))
            self.refunds.append((provider_ref, amount, refund_id))
        state = self.refund_state
        return RefundResult(f"re_{refund_id}", state is RefundState.SUCCEEDED, state=state)

    def succeed_at_provider(self, payment_id: str) -> None:
        """The buyer paid at the provider (its event may come later, or never before a cancel)."""
        self.intents[f"pi_{payment_id}"].status = PaymentStatus.SUCCEEDED

    def processing_at_provider(self, payment_id: str) -> None:
        """The buyer approved and the bank is still confirming (its event may come later)."""
        self.intents[f"pi_{payment_id}"].status = PaymentStatus.PROCESSING

    # ------------------------------------------------------------------ webhooks

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        if headers.get(SIGNATURE_HEADER) != "valid":
            raise InvalidSignature("fake signature does not verify")
        return self.event_from_payload(json.loads(raw_body))

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        try:
            amount = Money(int(str(payload["amount_minor"])), str(payload["currency"]))
            return PaymentEvent(
                event_id=str(payload["id"]), type=str(payload["type"]),
                provider_ref=str(payload["provider_ref"]), payment_id=str(payload["payment_id"]),
                amount=amount,
                failure_code=str(payload["failure_code"]) if payload.get("failure_code") else None,
                payload=dict(payload), refund_ref=str(payload.get("refund_ref") or "") or None,
                checkout_ref=str(payload.get("checkout_ref") or "") or None,
            )  # fmt: skip
        except (KeyError, ValueError) as exc:
            raise UnusableEvent(str(exc)) from exc

    def send(self, event_type: str, payment_id: str, **extra: object) -> str:
        """Deliver one signed event about our payment through the webhook path; returns the outcome."""
        payment = Payment.objects.get(id=payment_id)
        body = {
            "id": f"evt_fake_{next(self._events)}_{payment_id}", "type": event_type,
            "provider_ref": payment.provider_ref, "payment_id": payment_id,
            "amount_minor": payment.amount_minor, "currency": payment.currency, **extra,
        }  # fmt: skip
        if event_type == "payment.succeeded":
            self.succeed_at_provider(payment_id)
        return payments.receive_webhook(NAME, json.dumps(body).encode(), {SIGNATURE_HEADER: "valid"})


@contextmanager
def installed() -> Iterator[FakePaymentProvider]:
    """Route every payment method to a fresh fake provider for the test, then put the real wiring back."""
    fake = FakePaymentProvider()
    wiring.PAYMENT_ADAPTERS[NAME] = lambda _config, _addresses: fake
    try:
        wiring.start(
            config=replace(CONFIG, payment_routes=dict.fromkeys(METHODS, NAME)), messaging=False,
            **wired.current_addresses(),
        )  # fmt: skip
        yield fake
    finally:
        del wiring.PAYMENT_ADAPTERS[NAME]
        wired.point()
