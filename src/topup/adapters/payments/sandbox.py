"""The `sandbox` payment provider: the PaymentProvider port over HTTP to the Stripe-like payment simulator.

Errors, from the caller's point of view:

    PortUnavailable (ports)        network error, timeout, 429, 5xx or an answer that is not the expected
                                   JSON: the outcome is unknown; retry with the same idempotency key
    ProviderRequestError           the provider refused the request itself (401 bad API key, 400 invalid
                                   parameters on create, 409 idempotency key reused with another body):
                                   nothing was done; sending it again unchanged will not help
    InvalidSignature (ports)       a webhook whose signature or timestamp does not verify
    UnusableEvent (ports)          a verified webhook that is not an event we understand (acknowledged)

A refund refused for a business reason (400 charge_not_captured, amount_too_large,
charge_already_refunded; 404 resource_missing) is a `RefundResult(succeeded=False, code=...)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import httpx

from topup.adapters.payments.signature import verify
from topup.domain.errors import InvalidInput
from topup.domain.money import Money
from topup.jsonbody import JsonBodyError, read_object
from topup.ports import (
    PaymentEvent,
    PaymentRequest,
    PaymentResult,
    PaymentStatus,
    PortUnavailable,
    ProviderRequestError,
    RefundResult,
    UnusableEvent,
)

Json = dict[str, object]
SIGNATURE_HEADER = "Stripe-Signature"
PAGE_SIZE = 100
EVENT_TYPES = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "charge.refunded": "refund.succeeded",
}
MAX_ID = 80  # longest event id, type or object id we store (the inbox and payment columns)
REQUEST_ERRORS = {401, 403, 409}  # refusals of the request itself, never business outcomes


def _error(body: Json) -> tuple[str, str]:
    error = body.get("error")
    if not isinstance(error, dict):
        return "unknown_error", ""
    return str(error.get("code") or error.get("type") or "unknown_error"), str(error.get("message") or "")


def _text(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def payment_status(intent: Mapping[str, object]) -> PaymentStatus:
    """The port's status of a provider payment intent."""
    status = intent.get("status")
    if status == "succeeded":
        amount, refunded = intent.get("amount"), intent.get("amount_refunded")
        fully_refunded = isinstance(amount, int) and isinstance(refunded, int) and refunded >= amount > 0
        return PaymentStatus.REFUNDED if fully_refunded else PaymentStatus.SUCCEEDED
    if status == "canceled" or (status == "requires_payment_method" and intent.get("last_payment_error")):
        return PaymentStatus.FAILED
    return PaymentStatus.REQUIRES_ACTION


def _intent_result(body: Json) -> PaymentResult:
    provider_ref = _text(body, "id")
    if not provider_ref or not isinstance(body.get("status"), str):
        raise PortUnavailable("payment provider answered without an intent id or status")
    return PaymentResult(provider_ref, payment_status(body), _text(body, "checkout_url"), body)


class SandboxPaymentProvider:
    """A thread-safe client sharing one keep-alive connection pool; `close` it when done."""

    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        webhook_secrets: Sequence[str],
        clock: Callable[[], float] = time.time,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self._secrets = tuple(webhook_secrets)
        self._clock = clock
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "topup-sandbox-adapter"},
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SandboxPaymentProvider:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Json | None = None,
        params: Mapping[str, str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[int, Json]:
        """Send one request; transport failures and answers that cannot be read raise PortUnavailable."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        try:
            response = self._client.request(method, path, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise PortUnavailable(f"payment provider unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise PortUnavailable(f"payment provider answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise PortUnavailable(f"payment provider answered {response.status_code} without JSON") from exc
        if not isinstance(answer, dict):
            raise PortUnavailable("payment provider answered JSON that is not an object")
        return response.status_code, answer

    def _ok(self, status: int, answer: Json) -> Json:
        if status >= 400:
            code, message = _error(answer)
            raise ProviderRequestError(status, code, message)
        return answer

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        body: Json = {
            "amount": request.amount.amount_minor,
            "currency": request.amount.currency.lower(),
            "payment_method": request.method,
            "description": request.description,
            "metadata": {"order_id": request.order_id, "payment_id": request.payment_id},
        }
        if request.return_url:
            body["return_url"] = request.return_url
        status, answer = self._call(
            "POST", "/v1/payment_intents", body=body, idempotency_key=request.payment_id
        )
        return _intent_result(self._ok(status, answer))

    def get_payment(self, provider_ref: str) -> PaymentResult:
        """Ask the provider for a payment's current state (before retrying after PortUnavailable)."""
        return _intent_result(self._ok(*self._call("GET", f"/v1/payment_intents/{provider_ref}")))

    def cancel_payment(self, provider_ref: str, idempotency_key: str) -> PaymentResult:
        raise ProviderRequestError(400, "not_supported", "the sandbox protocol cannot cancel a payment")

    def list_payments(self) -> list[Json]:
        """Every payment intent the provider holds, oldest first, with refunded amounts (reconciliation)."""
        intents: list[Json] = []
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        while True:
            page = self._ok(*self._call("GET", "/v1/payment_intents", params=params))
            data = page.get("data")
            if not isinstance(data, list):
                raise PortUnavailable("payment provider listed no data")
            intents.extend(item for item in data if isinstance(item, dict))
            if not page.get("has_more") or not intents:
                return intents
            params["starting_after"] = str(intents[-1]["id"])

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        """Refund `amount`; the same `refund_id` replays the first successful refund instead of a second."""
        body: Json = {
            "payment_intent": provider_ref,
            "amount": amount.amount_minor,
            "metadata": {"refund_id": refund_id},
        }
        status, answer = self._call("POST", "/v1/refunds", body=body, idempotency_key=refund_id)
        if status in REQUEST_ERRORS:
            self._ok(status, answer)
        if status >= 400:
            return RefundResult(refund_ref="", succeeded=False, code=_error(answer)[0])
        refund_ref = _text(answer, "id")
        if not refund_ref:
            raise PortUnavailable("payment provider answered a refund without an id")
        succeeded = answer.get("status") == "succeeded"
        return RefundResult(refund_ref, succeeded, None if succeeded else str(answer.get("status")))

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify `Stripe-Signature` on the raw bytes with every secret, then reduce the event."""
        header = headers.get(SIGNATURE_HEADER)
        if header is None:
            wanted = SIGNATURE_HEADER.lower()
            header = next((v for k, v in headers.items() if k.lower() == wanted), None)
        verify(raw_body, header, self._secrets, int(self._clock()))
        try:
            event = read_object(raw_body)  # refuses invalid UTF-8, non-objects, deep nesting, NUL characters
        except JsonBodyError as exc:
            raise UnusableEvent(f"webhook body refused: {exc.code}") from exc
        return reduce_event(event)

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        """Rebuild the PaymentEvent of an event verified earlier from its stored `payload` (no check)."""
        return reduce_event(dict(payload))


def reduce_event(event: object) -> PaymentEvent:
    """Reduce a verified provider event to a PaymentEvent; one we cannot use raises UnusableEvent."""
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event, dict) or not isinstance(obj, dict):
        raise UnusableEvent("webhook body is not an event")
    event_id, raw_type, object_id = _text(event, "id"), _text(event, "type"), _text(obj, "id")
    if not event_id or not raw_type or not object_id:
        raise UnusableEvent("webhook event lacks an id, a type or an object id")
    if len(event_id) > MAX_ID or len(raw_type) > MAX_ID or len(object_id) > MAX_ID:
        raise UnusableEvent("webhook event id, type or object id is too long")
    event_type = EVENT_TYPES.get(raw_type, raw_type)
    amount = _money(obj)
    if amount is None and raw_type in EVENT_TYPES:
        raise UnusableEvent(f"{raw_type} event without a valid amount and currency")
    metadata = obj.get("metadata")
    error = obj.get("last_payment_error")
    is_intent = obj.get("object") == "payment_intent"
    return PaymentEvent(
        event_id=event_id,
        type=event_type,
        provider_ref=object_id if is_intent else (_text(obj, "payment_intent") or object_id),
        payment_id=_text(metadata, "payment_id") if isinstance(metadata, dict) else None,
        amount=amount,
        failure_code=_text(error, "code") if isinstance(error, dict) else None,
        payload=event,
    )


def _money(obj: Mapping[str, object]) -> Money | None:
    amount, currency = obj.get("amount"), obj.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    try:
        return Money(amount, currency.upper())
    except InvalidInput:
        return None
