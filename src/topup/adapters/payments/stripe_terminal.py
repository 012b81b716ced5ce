"""Stripe Terminal through the official SDK: hand a card-present PaymentIntent to a reader, read what the
reader is doing, cancel its action. The PaymentIntent is created by `StripePaymentProvider` (method
`card_present`, not confirmed); the reader confirms it when the card is tapped, and the outcome arrives as
`payment_intent.succeeded` / `payment_intent.payment_failed` like every other Stripe payment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from topup.adapters.payments.stripe_http import StripeRequests
from topup.metrics.peers import peer_call
from topup.ports import PortUnavailable, ProviderRequestError, ReaderAction


def reader_action(reader: Mapping[str, Any]) -> ReaderAction:
    action = reader.get("action")
    if not isinstance(action, Mapping):
        return ReaderAction("none")
    processing = action.get("process_payment_intent")
    payment_ref = processing.get("payment_intent") if isinstance(processing, Mapping) else None
    return ReaderAction(
        str(action.get("status") or "none"),
        payment_ref if isinstance(payment_ref, str) else None,
        action.get("failure_code") if isinstance(action.get("failure_code"), str) else None,
    )


class StripeTerminalReader:
    def __init__(self, base_url: str, api_key: str, api_version: str, timeout_s: float = 10.0) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url.rstrip("/")},
            stripe_version=api_version,
            max_network_retries=0,
            http_client=StripeRequests(timeout=timeout_s),
        )

    def _call(self, call: Any, *args: Any, **kwargs: Any) -> ReaderAction:
        try:
            with peer_call("stripe", f"terminal.readers.{getattr(call, '__name__', 'call')}"):
                reader = call(*args, **kwargs)
        except stripe.InvalidRequestError as exc:
            raise ProviderRequestError(
                exc.http_status or 400, exc.code or "invalid_request", str(exc)
            ) from exc
        except stripe.StripeError as exc:
            raise PortUnavailable(f"stripe terminal: {exc}", code="card_reader_unavailable") from exc
        return reader_action(reader.to_dict())

    def process(self, reader_id: str, payment_ref: str) -> ReaderAction:
        readers = self._client.v1.terminal.readers
        return self._call(readers.process_payment_intent, reader_id, params={"payment_intent": payment_ref})

    def action(self, reader_id: str) -> ReaderAction:
        return self._call(self._client.v1.terminal.readers.retrieve, reader_id)

    def cancel(self, reader_id: str) -> ReaderAction:
        return self._call(self._client.v1.terminal.readers.cancel_action, reader_id)
