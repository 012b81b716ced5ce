"""The JSON the simulated account answers with: Stripe's PaymentIntent, Charge, Refund, Event and lists.

Every field Stripe's OpenAPI document marks as required is present with its type (nullable ones as null
when unset); `tests/fixtures/stripe_shapes.json` holds those facts and a test checks them.
"""

from __future__ import annotations

import hashlib

import segno

from topup.simulators.payments.errors import DOC_URL
from topup.simulators.payments.records import METHOD_NAMES, Intent, Refund, Session

Json = dict[str, object]
API_VERSION = "2026-10-28.endive"  # what the simulated account renders (the SDK's pinned version)


def _digest(text: str, size: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def wechat_qr_data(intent_id: str) -> str:
    """The text WeChat would scan: a `weixin://wxpay/bizpayurl` link unique to the intent."""
    return f"weixin://wxpay/bizpayurl?pr={_digest(intent_id, 16)}"


def qr_png_data_url(data: str) -> str:
    return str(segno.make(data, error="m").png_data_uri(scale=5, border=2))


def next_action(public_url: str, intent: Intent) -> Json:
    """What the customer must do after confirmation, as Stripe says it for each method."""
    page = intent.hosted_url
    if intent.method == "alipay":
        return {
            "type": "alipay_handle_redirect",
            "alipay_handle_redirect": {
                "native_data": None, "native_url": None, "return_url": intent.return_url, "url": page,
            },
        }  # fmt: skip
    if intent.method == "wechat_pay":
        data = wechat_qr_data(intent.id)
        return {
            "type": "wechat_pay_display_qr_code",
            "wechat_pay_display_qr_code": {
                "data": data,
                "hosted_instructions_url": page,
                "image_data_url": qr_png_data_url(data),
                "image_url_png": f"{public_url}/qr/{intent.id}.png",
                "image_url_svg": f"{public_url}/qr/{intent.id}.svg",
            },
        }
    return {"type": "redirect_to_url", "redirect_to_url": {"return_url": intent.return_url, "url": page}}


def intent_json(intent: Intent) -> Json:
    succeeded = intent.status.value == "succeeded"
    return {
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": intent.amount if succeeded else 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": intent.canceled_at,
        "cancellation_reason": intent.cancellation_reason,
        "capture_method": "automatic",
        "client_secret": f"{intent.id}_secret_{_digest(intent.id)}",
        "confirmation_method": "automatic",
        "created": intent.created,
        "currency": intent.currency,
        "customer": intent.customer,
        "description": intent.description,
        "excluded_payment_method_types": None,
        "last_payment_error": dict(intent.last_payment_error) if intent.last_payment_error else None,
        "latest_charge": intent.latest_charge,
        "livemode": False,
        "metadata": dict(intent.metadata),
        "next_action": intent.next_action,
        "on_behalf_of": None,
        "payment_method": intent.payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": intent.payment_method_options,
        "payment_method_types": list(intent.payment_method_types),
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": intent.setup_future_usage,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": intent.status.value,
        "transfer_data": None,
        "transfer_group": None,
    }


def charge_json(intent: Intent) -> Json:
    """The intent's successful charge (`latest_charge`), with what has been refunded of it."""
    return {
        "id": intent.latest_charge,
        "object": "charge",
        "amount": intent.amount,
        "amount_captured": intent.amount,
        "amount_refunded": intent.amount_refunded,
        "balance_transaction": None,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "captured": True,
        "created": intent.created,
        "currency": intent.currency,
        "customer": None,
        "description": intent.description,
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(intent.metadata),
        "paid": True,
        "payment_intent": intent.id,
        "payment_method": intent.payment_method,
        "payment_method_details": {"type": intent.method},
        "receipt_url": None,
        "refunded": intent.amount_refunded >= intent.amount,
        "status": "succeeded",
    }


def refund_json(refund: Refund) -> Json:
    body: Json = {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": None,
        "charge": refund.charge_id,
        "created": refund.created,
        "currency": refund.currency,
        "destination_details": None,
        "metadata": dict(refund.metadata),
        "payment_intent": refund.intent_id,
        "reason": refund.reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": refund.status,
        "transfer_reversal": None,
    }
    if refund.status == "failed":
        body["failure_reason"] = refund.failure_reason
        body["failure_balance_transaction"] = None
    return body


def session_json(session: Session, intent: Json | None = None) -> Json:
    """A Checkout Session in `payment` mode; `intent` is its PaymentIntent when expanded."""
    return {
        "id": session.id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": session.amount,
        "amount_total": session.amount,
        "billing_address_collection": None,
        "cancel_url": session.cancel_url,
        "client_reference_id": session.client_reference_id,
        "client_secret": None,
        "created": session.created,
        "currency": session.currency,
        "customer": session.customer,
        "customer_creation": "if_required",
        "customer_email": None,
        "expires_at": session.expires_at,
        "invoice": None,
        "livemode": False,
        "locale": session.locale,
        "metadata": dict(session.metadata),
        "mode": "payment",
        "payment_intent": intent if intent is not None else session.payment_intent,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_types": ["card"],
        "payment_status": session.payment_status,
        "recovered_from": None,
        "setup_intent": None,
        "status": session.status,
        "submit_type": None,
        "subscription": None,
        "success_url": session.success_url,
        "ui_mode": "hosted",
        "url": session.url if session.status == "open" else None,
    }


def event_json(event_id: str, event_type: str, obj: Json, created: int, request_key: str | None) -> Json:
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": request_key},
        "type": event_type,
    }


def list_json(url: str, data: list[Json], has_more: bool) -> Json:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def decline_error(intent: Intent, why: str) -> Json:
    """Stripe's `last_payment_error` of a declined attempt: a card decline, an off-session card asking for
    the customer, or a wallet payment the customer did not approve."""
    if why == "authentication_required":  # off-session: the bank wants the customer (customers.py)
        error: Json = {
            "type": "card_error", "code": "authentication_required", "decline_code": why,
            "message": "Your card was declined. This transaction requires authentication.",
            "doc_url": DOC_URL + "authentication-required",
        }  # fmt: skip
    elif intent.method in {"card", "card_present"} or why != "customer_declined":
        error = {
            "type": "card_error", "code": "card_declined",
            "decline_code": "generic_decline" if why == "customer_declined" else why,
            "message": "Your card was declined.", "doc_url": DOC_URL + "card-declined",
        }  # fmt: skip
    else:
        error = {
            "type": "invalid_request_error", "code": "payment_intent_payment_attempt_failed",
            "message": f"The customer did not approve the {METHOD_NAMES.get(intent.method or '')} payment.",
            "doc_url": DOC_URL + "payment-intent-payment-attempt-failed",
        }  # fmt: skip
    error["payment_method"] = {"id": intent.payment_method, "object": "payment_method", "type": intent.method}
    return error
