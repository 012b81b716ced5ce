"""Saved cards at Stripe (the SavedCardProvider port): Customers, a payment's kept card, off-session charges.

Auto top-up creates a Customer before the first payment, which is made with `setup_future_usage=
off_session` (stripe.py); Stripe attaches the card to the customer when the payment succeeds. Later charges
are PaymentIntents confirmed off-session with that customer and card; Stripe answers a decline with 402
(`card_declined`, `authentication_required`, ...), which is a FAILED result with the code, not an error.
Every write carries our idempotency key, so that a retry after a timeout finds the first attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from topup.adapters.payments.stripe import _translate, is_checkout_ref
from topup.adapters.payments.stripe_http import StripeRequests
from topup.metrics.peers import peer_call
from topup.ports import (
    OffSessionCharge,
    OffSessionResult,
    PaymentStatus,
    PortUnavailable,
    SavedCard,
)

Json = dict[str, Any]
STATUSES = {"succeeded": PaymentStatus.SUCCEEDED, "processing": PaymentStatus.PROCESSING}


def _text(obj: object, key: str) -> str:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, str) else ""


class StripeSavedCards:
    name = "stripe"

    def __init__(self, base_url: str, api_key: str, api_version: str, timeout_s: float = 10.0) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url.rstrip("/")},
            stripe_version=api_version,
            max_network_retries=0,  # the worker retries with the same idempotency key
            http_client=StripeRequests(timeout=timeout_s),
        )

    def create_customer(self, reference: str, email: str) -> str:
        params: Json = {"metadata": {"reference": reference}}
        if email:
            params["email"] = email
        try:
            with peer_call("stripe", "customers.create"):
                customer = self._client.v1.customers.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": f"customer_{reference}"},
                )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        if not customer.id:
            raise PortUnavailable("Stripe answered a customer without an id")
        return str(customer.id)

    def saved_card(self, provider_ref: str) -> SavedCard | None:
        try:
            if is_checkout_ref(provider_ref):
                with peer_call("stripe", "checkout.sessions.retrieve"):
                    session = self._client.v1.checkout.sessions.retrieve(
                        provider_ref, params={"expand": ["payment_intent"]}
                    ).to_dict(recursive=True)
                intent = session.get("payment_intent")
            else:
                with peer_call("stripe", "payment_intents.retrieve"):
                    intent = self._client.v1.payment_intents.retrieve(provider_ref).to_dict(recursive=True)
            customer, method_id = _text(intent, "customer"), _text(intent, "payment_method")
            if _text(intent, "status") != "succeeded" or not customer or not method_id:
                return None
            with peer_call("stripe", "payment_methods.retrieve"):
                method = self._client.v1.payment_methods.retrieve(method_id).to_dict(recursive=True)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        if _text(method, "customer") != customer:
            return None  # not attached to the customer: Stripe did not keep it
        card = method.get("card")
        return SavedCard(customer, method_id, _text(card, "brand"), _text(card, "last4"))

    def charge_off_session(self, charge: OffSessionCharge) -> OffSessionResult:
        params: Json = {
            "amount": charge.amount.amount_minor,
            "currency": charge.amount.currency.lower(),
            "customer": charge.customer_ref,
            "payment_method": charge.payment_method_ref,
            "payment_method_types": ["card"],
            "off_session": True,
            "confirm": True,
            "description": charge.description,
            "metadata": {"order_id": charge.order_id, "payment_id": charge.payment_id},
        }
        try:
            with peer_call("stripe", "payment_intents.create"):
                intent = self._client.v1.payment_intents.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": charge.payment_id},
                )
        except stripe.CardError as exc:
            body = exc.json_body if isinstance(exc.json_body, dict) else {}
            error = body.get("error")
            provider_ref = _text(error.get("payment_intent") if isinstance(error, dict) else None, "id")
            return OffSessionResult(provider_ref, PaymentStatus.FAILED, exc.code or "card_declined")
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        found = intent.to_dict(recursive=True)
        status = STATUSES.get(_text(found, "status"), PaymentStatus.FAILED)
        waiting = _text(found, "status") == "requires_action"  # the bank wants the customer: not off-session
        code = (
            "" if status is not PaymentStatus.FAILED else ("authentication_required" if waiting else "failed")
        )
        return OffSessionResult(_text(found, "id"), status, code)

    def forget(self, payment_method_ref: str, idempotency_key: str) -> None:
        try:
            with peer_call("stripe", "payment_methods.detach"):
                self._client.v1.payment_methods.detach(
                    payment_method_ref, options={"idempotency_key": idempotency_key}
                )
        except stripe.InvalidRequestError as exc:
            if exc.code not in {"payment_method_unexpected_state", "resource_missing"}:
                raise _translate(exc) from exc
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
