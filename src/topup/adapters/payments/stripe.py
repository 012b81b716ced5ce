"""The `stripe` payment provider: the PaymentProvider port over the official `stripe` SDK (PaymentIntents).

The same code talks to api.stripe.com and to our simulator (`topup.simulators.payments`): only the base
address, the key and the webhook secrets differ. Each write carries our idempotency key (the payment id,
the refund id, `cancel_...`), so that a retry after a timeout finds the first attempt.

Errors, from the caller's point of view:

    PortUnavailable (ports)        no connection, timeout, 429, 5xx, 409 (the same key still running) or an
                                   answer that is not the expected object: the outcome is unknown; ask
                                   (`get_payment`) or retry with the same idempotency key
    ProviderRequestError           Stripe refused the request itself (401 bad key, 400 invalid parameters,
                                   an idempotency key reused with other parameters): nothing was done;
                                   sending it again unchanged will not help
    InvalidSignature (ports)       a webhook whose Stripe-Signature does not verify under any secret
    UnusableEvent (ports)          a verified webhook that is not an event we understand (acknowledged)

Cards: with `card_flow="checkout"` (the default, the only one that works in live mode) a card payment is a
Checkout Session: Stripe's hosted page collects the card (and runs its 3-D Secure), so no card data and no
Stripe.js touch our pages. The payment's reference is the session (`cs_...`) until it is paid; the
PaymentIntent the session creates carries our metadata, and its events name it (`pi_...`): the service
then stores that reference, which refunds, cancels and reconciliation use. A card declined on the page
fails the payment (`payment_intent.payment_failed`) while the session stays open: another card may still
pay it, once; cancelling expires the session. With `card_flow="payment_method"`
a card payment is confirmed with a configured test PaymentMethod (Stripe's test mode and the simulator only).

A card declined at confirmation (402) is a FAILED `PaymentResult`; a refund refused for a business reason
(400 charge_already_refunded, amount_too_large, ...; 404) is a `RefundResult(succeeded=False, code=...)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import stripe

from topup.adapters.payments.signature import verify
from topup.adapters.payments.stripe_http import StripeHttpx
from topup.domain.errors import InvalidInput
from topup.domain.ids import parse_id
from topup.domain.money import Money
from topup.jsonbody import JsonBodyError, read_object
from topup.metrics.peers import peer_call
from topup.ports import (
    NextAction,
    NextActionKind,
    PaymentEvent,
    PaymentRequest,
    PaymentResult,
    PaymentStatus,
    PortUnavailable,
    ProviderPayment,
    ProviderRefund,
    ProviderRequestError,
    RefundResult,
    RefundState,
    UnusableEvent,
)

SIGNATURE_HEADER = "stripe-signature"
TOLERANCE_S = 300
PAGE_SIZE = 100
MAX_ID = 80  # longest event id, type or object id we store (the inbox and payment columns)
DEFAULT_CARD_PAYMENT_METHOD = "pm_card_threeDSecure2Required"  # Stripe's test card that asks for 3-D Secure
CARD_FLOWS = ("checkout", "payment_method")
# Stripe's shortest Checkout Session lifetime is 30 minutes from creation; 2 more cover the request's way.
CHECKOUT_TTL = timedelta(minutes=32)
CHECKOUT_PREFIX = "cs_"
# The event types Topup acts on: its webhook endpoint's `enabled_events` (README "Stripe"; `topup serve`
# gives them to the simulator). A card paid through a Checkout Session is told once, by its PaymentIntent's
# `payment_intent.succeeded`, which carries our `payment_id` metadata (the service then adopts the `pi_`
# reference): `checkout.session.completed` would be a second request saying the same. A session that
# expires before any card was tried has no PaymentIntent, hence `checkout.session.expired`.
# `payment_intent.requires_action` changes nothing (the order page already shows the next action).
WEBHOOK_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "checkout.session.expired",
    "charge.refunded",
    "refund.updated",
    "refund.failed",
)
EVENT_TYPES = {
    "payment_intent.succeeded": "payment.succeeded",
    "payment_intent.payment_failed": "payment.failed",
    "payment_intent.processing": "payment.processing",
    "payment_intent.canceled": "payment.canceled",
    "payment_intent.requires_action": "payment.requires_action",
    "charge.refunded": "refund.succeeded",
    "refund.failed": "refund.failed",
}
REFUND_STATES = {
    "succeeded": RefundState.SUCCEEDED,
    "pending": RefundState.PENDING,
    "requires_action": RefundState.PENDING,
    "failed": RefundState.FAILED,
    "canceled": RefundState.FAILED,
}
REFUND_EVENT_TYPES = {
    RefundState.SUCCEEDED: "refund.succeeded",
    RefundState.PENDING: "refund.pending",
    RefundState.FAILED: "refund.failed",
}

# The buyer's language as Stripe's hosted pages take it. Checkout's `locale` is one of Stripe's values ("zh"
# is Simplified Chinese, "zh-TW" Traditional); a language Stripe lacks is "auto" (it follows the browser).
CHECKOUT_LOCALES = {
    "en": "en", "nl": "nl", "fr": "fr", "de": "de", "zh": "zh", "zh-hans": "zh", "zh-hant": "zh-TW",
}  # fmt: skip
# Bancontact's bank page (`payment_method_options[bancontact][preferred_language]`) has these four only; the
# other PaymentIntent methods (card 3-D Secure, Alipay, WeChat Pay) have no language parameter at Stripe.
BANCONTACT_LANGUAGES = frozenset({"en", "nl", "fr", "de"})

Json = dict[str, Any]


def checkout_locale(language: str) -> str:
    """Stripe Checkout's `locale` for one of our languages (`zh-hans` is `zh`); `auto` if Stripe lacks it."""
    tag = language.strip().lower().replace("_", "-")
    return CHECKOUT_LOCALES.get(tag) or CHECKOUT_LOCALES.get(tag.split("-", 1)[0], "auto")


def method_parameters(method: str, card_payment_method: str, language: str = "en") -> Json:
    """The PaymentIntent parameters that choose and confirm each of our payment methods."""
    if method == "card":
        return {"payment_method_types": ["card"], "payment_method": card_payment_method}
    if method == "card_present":  # confirmed by the reader the card is tapped on (stripe_terminal.py)
        return {"payment_method_types": ["card_present"], "capture_method": "automatic"}
    if method == "bancontact":
        params: Json = {
            "payment_method_types": ["bancontact"],
            "payment_method_data": {"type": "bancontact", "billing_details": {"name": "Topup customer"}},
        }
        if language in BANCONTACT_LANGUAGES:  # else the bank's page follows the browser
            params["payment_method_options"] = {"bancontact": {"preferred_language": language}}
        return params
    if method == "alipay":
        return {"payment_method_types": ["alipay"], "payment_method_data": {"type": "alipay"}}
    if method == "wechat_pay":
        return {
            "payment_method_types": ["wechat_pay"],
            "payment_method_data": {"type": "wechat_pay"},
            "payment_method_options": {"wechat_pay": {"client": "web"}},
        }
    raise ProviderRequestError(400, "payment_method_unsupported", f"no Stripe parameters for {method!r}")


def _get(obj: object, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else None


def _text(obj: object, key: str) -> str | None:
    value = _get(obj, key)
    return value if isinstance(value, str) else None


def payment_status(intent: Mapping[str, Any]) -> PaymentStatus:
    """The port's status of a PaymentIntent (REFUNDED when its expanded charge is refunded in full)."""
    status = intent.get("status")
    if status == "succeeded":
        charge = intent.get("latest_charge")
        refunded = _get(charge, "amount_refunded")
        amount = intent.get("amount")
        full = isinstance(refunded, int) and isinstance(amount, int) and refunded >= amount > 0
        return PaymentStatus.REFUNDED if full else PaymentStatus.SUCCEEDED
    if status == "processing":
        return PaymentStatus.PROCESSING
    if status == "canceled" or (status == "requires_payment_method" and intent.get("last_payment_error")):
        return PaymentStatus.FAILED
    return PaymentStatus.REQUIRES_ACTION


def next_action(intent: Mapping[str, Any]) -> NextAction | None:
    action = intent.get("next_action")
    kind = _text(action, "type")
    if kind == "redirect_to_url":
        return NextAction(NextActionKind.REDIRECT, url=_text(_get(action, kind), "url"))
    if kind == "alipay_handle_redirect":
        return NextAction(NextActionKind.REDIRECT, url=_text(_get(action, kind), "url"))
    if kind == "wechat_pay_display_qr_code":
        qr = _get(action, kind)
        return NextAction(
            NextActionKind.DISPLAY_QR,
            qr_data=_text(qr, "data"),
            instructions_url=_text(qr, "hosted_instructions_url"),
        )
    return None


def intent_result(intent: Mapping[str, Any]) -> PaymentResult:
    provider_ref = _text(intent, "id")
    if not provider_ref or not isinstance(intent.get("status"), str):
        raise PortUnavailable("Stripe answered without a PaymentIntent id or status")
    action = next_action(intent)
    checkout = (action.url or action.instructions_url) if action else None
    return PaymentResult(provider_ref, payment_status(intent), checkout, dict(intent), action)


def is_checkout_ref(provider_ref: str) -> bool:
    return provider_ref.startswith(CHECKOUT_PREFIX)


def session_status(session: Mapping[str, Any]) -> PaymentStatus:
    """The port's status of a Checkout Session; an expanded PaymentIntent says more once it exists."""
    intent = session.get("payment_intent")
    status = session.get("status")
    if status == "complete":
        if session.get("payment_status") == "paid":
            refunded = isinstance(intent, Mapping) and payment_status(intent) is PaymentStatus.REFUNDED
            return PaymentStatus.REFUNDED if refunded else PaymentStatus.SUCCEEDED
        return PaymentStatus.PROCESSING
    if status == "expired":
        return PaymentStatus.FAILED
    if isinstance(intent, Mapping) and intent.get("status") == "processing":
        return PaymentStatus.PROCESSING
    return PaymentStatus.REQUIRES_ACTION


def session_result(session: Mapping[str, Any]) -> PaymentResult:
    """A Checkout Session as the port's result: its page is where the customer goes next."""
    provider_ref = _text(session, "id")
    if not provider_ref or not isinstance(session.get("status"), str):
        raise PortUnavailable("Stripe answered without a Checkout Session id or status")
    status = session_status(session)
    url = _text(session, "url") if status is PaymentStatus.REQUIRES_ACTION else None
    intent = session.get("payment_intent")
    payment_ref = _text(intent, "id") if isinstance(intent, Mapping) else _text(session, "payment_intent")
    action = NextAction(NextActionKind.REDIRECT, url=url) if url else None
    return PaymentResult(provider_ref, status, url, dict(session), action, payment_ref=payment_ref)


def with_query(url: str, query: Mapping[str, str]) -> str:
    """`url` with `query` appended after its own query, if any (the fragment stays last)."""
    base, hash_mark, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    # Stripe substitutes the literal template; urlencode would escape its braces.
    extra = "&".join(
        f"{k}={v}" if v == "{CHECKOUT_SESSION_ID}" else urlencode({k: v}) for k, v in query.items()
    )
    return f"{base}{separator}{extra}{hash_mark}{fragment}"


def _as_dict(obj: stripe.StripeObject) -> Json:
    return obj.to_dict(recursive=True)


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


class StripePaymentProvider:
    """A thread-safe client (one httpx connection pool, shared by the server's threads)."""

    name = "stripe"
    checkout_ref_prefix = CHECKOUT_PREFIX  # ports.HostedCheckoutProvider: a card's session until it is paid

    def __init__(  # noqa: PLR0917 (one line of wiring builds it)
        self,
        base_url: str,
        api_key: str,
        webhook_secrets: Sequence[str],
        api_version: str,
        timeout_s: float = 10.0,
        card_payment_method: str = DEFAULT_CARD_PAYMENT_METHOD,
        card_flow: str = "checkout",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if card_flow not in CARD_FLOWS:
            raise ValueError(f"card_flow must be one of {', '.join(CARD_FLOWS)}, not {card_flow!r}")
        self._secrets = tuple(s for s in webhook_secrets if s)
        self._card_payment_method = card_payment_method
        self._card_flow = card_flow
        self._clock = clock
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url.rstrip("/")},
            stripe_version=api_version,
            max_network_retries=0,  # our callers retry with the same idempotency key, after asking
            # The SDK's httpx client: requests reads the proxy settings from the environment on every call
            # (about a quarter of the SDK's CPU per Checkout Session); httpx reads them once, at start.
            http_client=StripeHttpx(timeout=timeout_s, allow_sync_methods=True),
        )

    # ------------------------------------------------------------ payments

    def create_payment(self, request: PaymentRequest) -> PaymentResult:
        if request.method == "card" and self._card_flow == "checkout":
            return self._create_session(request)
        params: Json = {
            "amount": request.amount.amount_minor,
            "currency": request.amount.currency.lower(),
            "confirm": request.method != "card_present",
            "description": request.description,
            "metadata": {"order_id": request.order_id, "payment_id": request.payment_id},
            **method_parameters(request.method, self._card_payment_method, request.language),
        }
        if request.return_url and request.method != "card_present":
            params["return_url"] = request.return_url
        if request.save_card_for and request.method == "card":  # auto top-up: keep the card (stripe_saved)
            params |= {"customer": request.save_card_for, "setup_future_usage": "off_session"}
        try:
            with peer_call("stripe", "payment_intents.create"):
                intent = self._client.v1.payment_intents.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": request.payment_id},
                )
        except stripe.CardError as exc:
            return self._declined(exc)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return intent_result(_as_dict(intent))

    def _create_session(self, request: PaymentRequest) -> PaymentResult:
        """A Checkout Session for one card payment; its page collects the card and runs 3-D Secure."""
        if not request.return_url:
            raise ProviderRequestError(
                400, "parameter_missing", "a card payment by Checkout needs a return_url"
            )
        ours = {"order_id": request.order_id, "payment_id": request.payment_id}
        params: Json = {
            "mode": "payment",
            "payment_method_types": ["card"],
            "line_items": [{
                "price_data": {
                    "currency": request.amount.currency.lower(),
                    "unit_amount": request.amount.amount_minor,
                    "product_data": {"name": request.description},
                },
                "quantity": 1,
            }],
            "payment_intent_data": {
                "metadata": ours,
                "description": request.description,
            },
            "metadata": ours,
            "locale": checkout_locale(request.language),
            "client_reference_id": request.order_id,
            "success_url": with_query(request.return_url, {"session_id": "{CHECKOUT_SESSION_ID}"}),
            "cancel_url": request.return_url,
            "expires_at": _unix(self._minted(request.payment_id) + CHECKOUT_TTL),
        }  # fmt: skip
        if request.save_card_for:  # auto top-up: the card is kept for off-session charges (stripe_saved)
            params["customer"] = request.save_card_for
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
        try:
            with peer_call("stripe", "checkout.sessions.create"):
                session = self._client.v1.checkout.sessions.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": request.payment_id},
                )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return session_result(_as_dict(session))

    def _minted(self, payment_id: str) -> datetime:
        """When the payment id was made (its ULID time), so that every retry under the same idempotency key
        sends the same `expires_at` (Stripe refuses a key reused with other parameters); now for an id
        that carries no time."""
        try:
            return datetime.fromtimestamp(parse_id(payment_id).unix_ms / 1000, UTC)
        except InvalidInput:
            return self._clock()

    def _declined(self, exc: stripe.CardError) -> PaymentResult:
        """A card declined at confirmation: Stripe answers 402 with the intent, now FAILED."""
        body = exc.json_body if isinstance(exc.json_body, dict) else {}
        intent = _get(body.get("error"), "payment_intent")
        provider_ref = _text(intent, "id")
        if not provider_ref:
            raise PortUnavailable("Stripe declined a card without naming the PaymentIntent")
        return PaymentResult(provider_ref, PaymentStatus.FAILED, None, dict(body))

    def get_payment(self, provider_ref: str) -> PaymentResult:
        if is_checkout_ref(provider_ref):
            return self._get_session(provider_ref)
        try:
            with peer_call("stripe", "payment_intents.retrieve"):
                intent = self._client.v1.payment_intents.retrieve(
                    provider_ref, params={"expand": ["latest_charge"]}
                )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return intent_result(_as_dict(intent))

    def _get_session(self, session_id: str) -> PaymentResult:
        try:
            with peer_call("stripe", "checkout.sessions.retrieve"):
                session = self._client.v1.checkout.sessions.retrieve(
                    session_id, params={"expand": ["payment_intent", "payment_intent.latest_charge"]}
                )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return session_result(_as_dict(session))

    def cancel_payment(self, provider_ref: str, idempotency_key: str) -> PaymentResult:
        """Cancel at Stripe; an intent that can no longer be cancelled is answered as it now is. A Checkout
        Session is expired (Stripe then cancels its PaymentIntent); one already paid answers SUCCEEDED."""
        if is_checkout_ref(provider_ref):
            return self._expire_session(provider_ref, idempotency_key)
        try:
            with peer_call("stripe", "payment_intents.cancel"):
                intent = self._client.v1.payment_intents.cancel(
                    provider_ref, params={}, options={"idempotency_key": idempotency_key}
                )
        except stripe.InvalidRequestError as exc:
            if exc.code != "payment_intent_unexpected_state":
                raise _translate(exc) from exc
            return self.get_payment(provider_ref)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return intent_result(_as_dict(intent))

    def _expire_session(self, session_id: str, idempotency_key: str) -> PaymentResult:
        try:
            with peer_call("stripe", "checkout.sessions.expire"):
                session = self._client.v1.checkout.sessions.expire(
                    session_id, params={}, options={"idempotency_key": idempotency_key}
                )
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise _translate(exc) from exc
            return self._get_session(session_id)  # no longer open: complete, or expired already
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return session_result(_as_dict(session))

    # ------------------------------------------------------------ refunds

    def refund(self, provider_ref: str, amount: Money, refund_id: str) -> RefundResult:
        """Refund `amount`; the same `refund_id` replays the first refund instead of a second one.
        Alipay and WeChat Pay refunds come back PENDING: `refund.updated` / `refund.failed` tell the end."""
        if is_checkout_ref(provider_ref):  # a success whose event has not given us its PaymentIntent yet
            paid_as = self._get_session(provider_ref).payment_ref
            if not paid_as:
                return RefundResult(refund_ref="", succeeded=False, code="charge_not_captured")
            provider_ref = paid_as
        params: Json = {
            "payment_intent": provider_ref,
            "amount": amount.amount_minor,
            "metadata": {"refund_id": refund_id},
        }
        try:
            with peer_call("stripe", "refunds.create"):
                refund = self._client.v1.refunds.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": refund_id},
                )
        except stripe.IdempotencyError as exc:
            raise _translate(exc) from exc
        except stripe.InvalidRequestError as exc:
            return RefundResult(refund_ref="", succeeded=False, code=exc.code or "invalid_request_error")
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return refund_result(_as_dict(refund))

    # ------------------------------------------------------------ reconciliation

    def _pages(self, listing: Any) -> Iterator[Json]:
        try:
            for item in listing.auto_paging_iter():
                yield _as_dict(item)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc

    def list_payments(self, created_gte: datetime) -> list[ProviderPayment]:
        """Every PaymentIntent created at or after `created_gte`, newest first."""
        params: Json = {"created": {"gte": _unix(created_gte)}, "limit": PAGE_SIZE}
        try:
            with peer_call("stripe", "payment_intents.list"):
                listing = self._client.v1.payment_intents.list(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return [provider_payment(intent) for intent in self._pages(listing)]

    def list_refunds(self, created_gte: datetime, provider_ref: str | None = None) -> list[ProviderRefund]:
        """Every refund created at or after `created_gte` (of one payment when `provider_ref` is given)."""
        params: Json = {"created": {"gte": _unix(created_gte)}, "limit": PAGE_SIZE}
        if provider_ref:
            params["payment_intent"] = provider_ref
        try:
            with peer_call("stripe", "refunds.list"):
                listing = self._client.v1.refunds.list(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return [provider_refund(refund) for refund in self._pages(listing)]

    # ------------------------------------------------------------ webhooks

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify `Stripe-Signature` on the raw bytes under each secret (rotation), then reduce the event.
        One check for every body (`signature.verify`, Stripe's scheme over bytes): a signed body that is
        not UTF-8 is then acknowledged and ignored instead of retried by Stripe for days."""
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        verify(raw_body, header, self._secrets, int(time.time()), TOLERANCE_S)
        try:
            event = read_object(raw_body)  # refuses invalid UTF-8, non-objects, deep nesting, NUL characters
        except JsonBodyError as exc:
            raise UnusableEvent(f"webhook body refused: {exc.code}") from exc
        return reduce_event(event)

    def event_from_payload(self, payload: Mapping[str, object]) -> PaymentEvent:
        """Rebuild the PaymentEvent of an event verified earlier from its stored `payload` (no check)."""
        return reduce_event(dict(payload))


def refund_result(refund: Mapping[str, Any]) -> RefundResult:
    refund_ref = _text(refund, "id")
    if not refund_ref:
        raise PortUnavailable("Stripe answered a refund without an id")
    status = str(refund.get("status"))
    state = REFUND_STATES.get(status, RefundState.PENDING)
    code = None if state is not RefundState.FAILED else (_text(refund, "failure_reason") or status)
    return RefundResult(refund_ref, state is RefundState.SUCCEEDED, code, state)


def _money(amount: object, currency: object) -> Money | None:
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        return None
    try:
        return Money(amount, currency.upper())
    except InvalidInput:
        return None


def _created(obj: Mapping[str, Any]) -> datetime:
    created = obj.get("created")
    if not isinstance(created, int):
        raise PortUnavailable("Stripe listed an object without its creation time")
    return datetime.fromtimestamp(created, UTC)


def provider_payment(intent: Mapping[str, Any]) -> ProviderPayment:
    amount = _money(intent.get("amount"), intent.get("currency"))
    received = _money(intent.get("amount_received"), intent.get("currency"))
    provider_ref = _text(intent, "id")
    if amount is None or received is None or not provider_ref:
        raise PortUnavailable("Stripe listed a PaymentIntent without id, amount or currency")
    metadata = intent.get("metadata")
    return ProviderPayment(
        provider_ref=provider_ref,
        payment_id=_text(metadata, "payment_id"),
        order_id=_text(metadata, "order_id"),
        status=payment_status(intent),
        amount=amount,
        amount_received=received,
        created=_created(intent),
    )


def provider_refund(refund: Mapping[str, Any]) -> ProviderRefund:
    amount = _money(refund.get("amount"), refund.get("currency"))
    refund_ref, provider_ref = _text(refund, "id"), _text(refund, "payment_intent")
    if amount is None or not refund_ref or not provider_ref:
        raise PortUnavailable("Stripe listed a refund without id, PaymentIntent, amount or currency")
    return ProviderRefund(
        refund_ref=refund_ref,
        provider_ref=provider_ref,
        refund_id=_text(refund.get("metadata"), "refund_id"),
        amount=amount,
        state=REFUND_STATES.get(str(refund.get("status")), RefundState.PENDING),
        created=_created(refund),
    )


def _translate(exc: stripe.StripeError) -> Exception:
    """Transport trouble and 5xx/429/409 are unknown outcomes; other refusals are the request's fault."""
    status = exc.http_status
    unknown = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)
    if isinstance(exc, unknown) or status is None or status >= 500 or status in {409, 429}:
        return PortUnavailable(f"Stripe unavailable ({type(exc).__name__}, {status})")
    code = exc.code or _text(_get(exc.json_body, "error"), "type") or type(exc).__name__
    return ProviderRequestError(status, code, exc.user_message or str(exc))


def reduce_event(event: object) -> PaymentEvent:
    """Reduce a verified Stripe event to a PaymentEvent; one we cannot use raises UnusableEvent."""
    obj = _get(_get(event, "data"), "object")
    if not isinstance(event, dict) or not isinstance(obj, dict):
        raise UnusableEvent("webhook body is not an event")
    event_id, raw_type, object_id = _text(event, "id"), _text(event, "type"), _text(obj, "id")
    if not event_id or not raw_type or not object_id:
        raise UnusableEvent("webhook event lacks an id, a type or an object id")
    if len(event_id) > MAX_ID or len(raw_type) > MAX_ID or len(object_id) > MAX_ID:
        raise UnusableEvent("webhook event id, type or object id is too long")
    kind = obj.get("object")
    if kind == "refund":
        return _refund_event(event, event_id, raw_type, obj)
    if kind == "checkout.session":
        return _session_event(event, event_id, raw_type, obj)
    amount_field = "amount_refunded" if kind == "charge" else "amount"
    amount = _money(obj.get(amount_field), obj.get("currency"))
    if amount is None and raw_type in EVENT_TYPES:
        raise UnusableEvent(f"{raw_type} event without a valid amount and currency")
    error = obj.get("last_payment_error")
    provider_ref = object_id if kind == "payment_intent" else (_text(obj, "payment_intent") or object_id)
    return PaymentEvent(
        event_id=event_id,
        type=EVENT_TYPES.get(raw_type, raw_type),
        provider_ref=provider_ref,
        payment_id=_text(obj.get("metadata"), "payment_id"),
        amount=amount,
        failure_code=_text(error, "code"),
        payload=event,
    )


SESSION_EVENT_TYPES = {
    "checkout.session.completed": "payment.succeeded",
    "checkout.session.async_payment_succeeded": "payment.succeeded",
    "checkout.session.async_payment_failed": "payment.failed",
    "checkout.session.expired": "payment.canceled",
}


def _session_event(event: Json, event_id: str, raw_type: str, session: Json) -> PaymentEvent:
    """A session's events name its PaymentIntent once there is one; a completed but unpaid session (an
    asynchronous method) is not a success yet."""
    event_type = SESSION_EVENT_TYPES.get(raw_type, raw_type)
    if raw_type == "checkout.session.completed" and session.get("payment_status") != "paid":
        event_type = "payment.processing"
    intent = session.get("payment_intent")
    intent_ref = _text(intent, "id") if isinstance(intent, Mapping) else _text(session, "payment_intent")
    amount = _money(session.get("amount_total"), session.get("currency"))
    if event_type == "payment.succeeded" and (amount is None or not intent_ref):
        raise UnusableEvent(f"{raw_type} event without a PaymentIntent, amount or currency")
    provider_ref = intent_ref if event_type == "payment.succeeded" else str(session["id"])
    if intent_ref and len(intent_ref) > MAX_ID:
        raise UnusableEvent(f"{raw_type} event's PaymentIntent id is too long")
    return PaymentEvent(
        event_id=event_id,
        type=event_type,
        provider_ref=str(provider_ref),
        payment_id=_text(session.get("metadata"), "payment_id"),
        amount=amount,
        failure_code=None,  # an expired session is a cancelled payment (`payment_canceled`)
        payload=event,
        checkout_ref=str(session["id"]),
    )


def _refund_event(event: Json, event_id: str, raw_type: str, refund: Json) -> PaymentEvent:
    """`refund.updated` says the refund's new status; `refund.failed` is always a failure."""
    amount = _money(refund.get("amount"), refund.get("currency"))
    provider_ref = _text(refund, "payment_intent")
    if amount is None or not provider_ref or len(provider_ref) > MAX_ID:
        raise UnusableEvent(f"{raw_type} event without a PaymentIntent, amount or currency")
    state = REFUND_STATES.get(str(refund.get("status")), RefundState.PENDING)
    event_type = "refund.failed" if raw_type == "refund.failed" else REFUND_EVENT_TYPES[state]
    if raw_type not in {"refund.updated", "refund.failed", "refund.created"}:
        event_type = raw_type
    failed = event_type == "refund.failed"
    metadata = refund.get("metadata")
    return PaymentEvent(
        event_id=event_id,
        type=event_type,
        provider_ref=provider_ref,
        payment_id=_text(metadata, "payment_id"),
        amount=amount,
        failure_code=(_text(refund, "failure_reason") or "refund_failed") if failed else None,
        payload=event,
        refund_ref=_text(refund, "id"),
        refund_id=_text(metadata, "refund_id"),
    )
