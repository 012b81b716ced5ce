"""Customer-facing wording of every stable error code, translated with gettext per request language."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from topup.channels.autotopup_messages import AUTOTOPUP_INTERNAL_CODES, AUTOTOPUP_MESSAGES
from topup.channels.promotion_messages import PROMOTION_INTERNAL_CODES, PROMOTION_MESSAGES
from topup.channels.retail_messages import RETAIL_INTERNAL_CODES, RETAIL_MESSAGES
from topup.domain.errors import DomainError

MESSAGES = {
    "msisdn_required": _("Please enter a number."),
    "invalid_msisdn": _("This is not a valid phone number. Check the digits and try again."),
    "not_a_mobile_number": _(
        "This number is not a mobile number. Enter a Belgian mobile number (04xx xx xx xx)."
    ),
    "not_a_belgian_number": _("Only Belgian mobile numbers (+32 4xx xx xx xx) can be topped up here."),
    "invalid_iccid": _("This ICCID is not valid. Check the number printed on the SIM card."),
    "plan_not_found": _("This plan does not exist. Choose a plan from the list."),
    "plan_not_available": _("This plan is no longer on sale. Choose another plan."),
    "plan_not_deliverable": _(
        "This plan cannot be delivered to this network right now. Choose another plan."
    ),
    "network_mismatch": _(
        "This number seems to belong to another network. Choose a plan of that network, "
        "or confirm the network if the number was ported."
    ),
    "invalid_payment_method": _("Choose a payment method: card, Bancontact, Alipay or WeChat Pay."),
    "fx_rate_unavailable": _(
        "No current exchange rate for yuan is available, so Alipay and WeChat Pay cannot be used right now. "
        "Pay by card or Bancontact, or try again later."
    ),
    "idempotency_key_required": _("Send an Idempotency-Key header with this request."),
    "idempotency_conflict": _("This Idempotency-Key was already used for a different request."),
    "database_unavailable": _(
        "We could not finish this because our database is switching over. Nothing was charged twice; "
        "try again in a moment."
    ),
    "idempotency_in_progress": _(
        "A request with this Idempotency-Key is still being processed. Retry in a moment."
    ),
    "order_not_found": _("This order does not exist."),
    "invalid_signature": _("The webhook signature is not valid."),
    "unauthorized": _("A valid API key is required."),
    "forbidden": _("This API key may not do this."),
    "invalid_request": _("The request is not valid. Check the highlighted field."),
    "payment_provider_unavailable": _(
        "Payments are unavailable right now. Nothing was charged; try again shortly."
    ),
    "carrier_unavailable": _("The operator cannot be reached right now. Try again shortly."),
    "not_on_network": _("This number is not on that network."),
    "balance_not_shared": _(
        "This operator does not share balances with us. Ask the operator for your balance; "
        "top-ups still work."
    ),
    "unknown_provider": _("This payment provider is not known."),
    # eSIM orders and lines
    "line_not_found": _("We cannot find a line with this ICCID or number. Check it and try again."),
    "not_an_esim_plan": _("This plan is for a SIM card, not for an eSIM. Choose an eSIM plan."),
    "iccid_required": _("Enter the ICCID of your eSIM to top it up."),
    "esim_not_ready": _("Your eSIM is not ready yet. Wait a moment and refresh this page."),
    "esim_cancelled": _("This eSIM was cancelled and can no longer be installed."),
    "esim_already_downloaded": _("This eSIM is already on a phone, so it can no longer be cancelled."),
    "invalid_pin_format": _(
        "This code is not a valid voucher code. Check the digits on your voucher and try again."
    ),
    "voucher_unknown": _("This voucher code is not known. Check the digits, or ask the shop that sold it."),
    "voucher_already_used": _("This voucher has already been used. Each voucher can be used only once."),
    "voucher_void": _("This voucher has been cancelled and cannot be used. Ask the shop that sold it."),
    "voucher_expired": _("This voucher has expired and can no longer be used."),
    "voucher_locked_out": _(
        "Too many wrong codes. For your safety, voucher top-ups are paused for this number for a while. "
        "Try again later."
    ),
    "voucher_busy": _(
        "Voucher top-ups are very busy right now. Wait a minute and try again; your voucher is safe."
    ),
    "unsupported_language": _("Choose one of these languages: NL, FR, DE, EN or ZH."),
    "sms_unavailable": _("We cannot send text messages right now. Please try again in a few minutes."),
    "otp_rate_limited": _("Too many codes were asked for. Wait a few minutes and try again."),
    "otp_invalid": _("This code is not right. Check the SMS and try again."),
    "otp_expired": _("This code has expired. Ask for a new one."),
    "otp_locked": _("Too many wrong codes. Ask for a new code."),
    "otp_too_many_checks": _("Too many codes were tried. Wait a while and try again."),
    "invalid_email": _("This is not a valid e-mail address. Check it and try again."),
    "email_unavailable": _("We cannot send e-mail right now. Try again in a few minutes."),
    "not_cancellable": _("Only a delivered new eSIM can be cancelled."),
    "not_a_bundle_plan": _("This plan is not a data bundle. Choose a bundle plan."),
    "bundle_not_cancellable": _("This bundle is no longer active, so it cannot be cancelled."),
    "smdp_refused": _(
        "The eSIM provider refused this request. Nothing was charged, or your money is refunded."
    ),
    "smdp_unavailable": _(
        "The eSIM provider cannot be reached right now. Nothing was charged, or your money is refunded."
    ),
    # Identifiers
    "invalid_eid": _("This EID is not valid. Check the 32 digits shown in your phone settings."),
    "invalid_imsi": _("This IMSI is not valid. It must have 15 digits."),
    "invalid_activation_code": _("This activation code is not valid. Check it or scan the QR code again."),
    "network_unknown": _("We do not know the network of this number. Choose the network yourself."),
    "unknown_network": _("The operator does not know this network. Choose another plan or contact us."),
    # Money and payments
    "invalid_amount": _("This amount is not valid. Enter it with at most two decimals."),
    "unsupported_currency": _("This currency is not supported. Choose EUR, CNY, USD or GBP."),
    "insufficient_funds": _(
        "This cannot be paid right now. Nothing was charged; contact us if it happens again."
    ),
    # Paying again after a declined or abandoned payment (services/attempts)
    "bancontact_eur_only": _("Bancontact can only pay in euros. Choose another payment method."),
    "order_expired": _("This order expired before it was paid. Nothing was charged; place a new order."),
    "order_not_awaiting_payment": _("This order is no longer waiting for a payment. Refresh the page."),
    "payment_processing": _("Your bank is still confirming the payment. Wait a moment before paying again."),
    "too_many_payment_attempts": _(
        "This order was tried too many times. Nothing was charged; place a new order."
    ),
    # Why a payment did not go through (the provider's decline codes we know)
    "payment_failed": _("The payment was declined."),
    "payment_canceled": _("The payment was cancelled."),
    "card_declined": _("Your card was declined."),
    "generic_decline": _("Your card was declined."),
    "do_not_honor": _("Your card was declined."),
    "expired_card": _("Your card has expired."),
    "incorrect_cvc": _("The security code (CVC) of your card is not right."),
    "payment_intent_authentication_failure": _(
        "The security check of your bank (3-D Secure) did not succeed."
    ),
    "superseded": _("Replaced by a new payment."),
    # Order history: payments paid again, refunded on their own, or paid back by hand
    "payment_retried": _("You chose to pay again."),
    "stray_payment": _("An extra payment arrived for this order: it is refunded."),
    "refund_failed": _("The automatic refund did not go through: we will pay you back by bank transfer."),
    "payout_done": _("Your money was paid back by bank transfer."),
    # Order history
    "illegal_transition": _(
        "This order cannot do that in its current state. Refresh the page to see its status."
    ),
    "payment_timeout": _("The payment did not arrive in time, so the order expired. Nothing was charged."),
    "refunded": _("Your money was refunded."),
    "carrier_rejected": _("The operator refused this top-up. Your money is refunded."),
    "carrier_cancelled": _("The operator cancelled this top-up. Your money is refunded."),
    # Usage records (partner API)
    "invalid_usage_record": _("A usage record is not valid. Check the highlighted record."),
    "duplicate_usage_record": _("The same usage record appears twice in this batch. Send each record once."),
    "usage_batch_too_large": _("Too many usage records in one request. Send them in smaller batches."),
    "usage_too_old": _("A usage record is too old to be rated. Send usage within the retention period."),
    "usage_conflict": _("These usage records were stored at the same time by another request. Try again."),
    # Generic API errors
    "invalid_idempotency_key": _("This Idempotency-Key is too long. Use a shorter key, such as a UUID."),
    "invalid_input": _("Some information is not valid. Check it and try again."),
    "conflict": _("This request clashes with the current state. Refresh and try again."),
    "not_found": _("This does not exist. Check the address."),
    "method_not_allowed": _("This action is not possible at this address."),
    "http_error": _("This request cannot be handled. Check it and try again."),
    "internal_error": _("Something went wrong on our side. Try again later or contact us."),
    # Malformed request bodies and characters no database stores (topup.jsonbody, channels.input_guard)
    "invalid_json": _("The request body is not valid JSON in UTF-8."),
    "json_not_object": _("The request body must be a JSON object."),
    "json_too_deep": _("The request body is nested too deeply."),
    "body_too_large": _("The request body is too large."),
    "invalid_character": _("The request contains a character that is not allowed, such as a NUL byte."),
    # The self-service kiosk: its cash acceptor and its enrolment (topup.domain.kiosk, services.kiosk_*)
    "cash_denomination_refused": _("This note or coin is not accepted. Take it back and use another one."),
    "cash_no_change": _(
        "This note is too large: the kiosk cannot give the difference back as credit. Take it back and use a "
        "smaller one."
    ),
    "cash_session_closed": _("Payment is complete or cancelled: this money was not taken. Take it back."),
    "cash_not_payable": _("This price cannot be paid in cash. Please pay by card."),
    "cash_device_unavailable": _("The cash machine is not available right now. Please pay by card."),
    "cash_session_not_found": _("This cash payment does not exist or has ended."),
    "cash_session_paid": _("This payment is already complete."),
    "invalid_cash_event": _("The cash machine sent an unreadable message."),
    "kiosk_enrolment_invalid": _("This enrolment code is unknown, already used or expired."),
    "card_reader_unavailable": _("The card reader is not available right now. Please pay cash."),
    "not_a_kiosk": _("Only a kiosk terminal can report cash from its acceptor."),
}

# The agent console (topup.channels.agent): what staff read at the counter or the call-centre desk.
MESSAGES |= {
    "sign_in_failed": _("Wrong username or password."),
    "totp_failed": _("This code is wrong or was already used. Wait for the next code."),
    "locked": _("Too many failed attempts: this account is locked for 15 minutes."),
    "search_empty": _("Enter a number, an ICCID or an order id."),
    "order_without_line": _("This order names no line yet."),
    "invalid_document_type": _("Choose the type of identity document."),
    "invalid_document_last4": _(
        "Enter only the last 4 characters of the document number, never the whole number."
    ),
    "invalid_nationality": _("Nationality is a 2-letter country code (BE, FR, CN…)."),
    "identity_check_required": _("A new prepaid line needs an identity check first."),
    "link_needs_number": _("A payment link is sent to a phone number: find the customer by number."),
    "invalid_note": _("Write a note of at most 2000 characters."),
    "reason_required": _("Say why."),
    "goodwill_needs_line": _("Goodwill credit can be given on one of our eSIM lines only."),
    "goodwill_not_a_plan": _(
        "Goodwill on this number is a free top-up: enter the amount of one of its credit plans."
    ),
    "invalid_resend": _("Send a receipt or an eSIM code."),
    "refund_already_requested": _("A refund of this order was already asked for."),
    "already_decided": _("This request was already decided."),
    "own_request": _("Nobody approves their own request."),
    "forbidden_role": _("Only a supervisor may decide a request."),
    "request_not_found": _("This request does not exist."),
    "no_receipt": _("Only a delivered order has a receipt."),
    "customer_required": _("Find a customer first."),
}

# The customer's e-mail address, for receipts and a new eSIM's QR code (domain.identifiers.parse_email).
MESSAGES |= {
    "invalid_email": _("This e-mail address is not valid. Check it, for example name@example.com."),
    "email_required": _("Enter your e-mail address: your eSIM's QR code and receipt are sent there."),
}

# Following an order (long polls, event streams) and partners' status callbacks.
MESSAGES |= {
    "too_many_waiters": _("Too many requests are waiting right now. Try again in a moment."),
    "invalid_callback_url": _("This callback address cannot be used. Use a public https address."),
}

# Codes that never reach a customer as such: they signal a bug in our code or data (a broken invariant),
# not a customer mistake, or they are internal bookkeeping / transport labels. `message_for` answers them
# with the generic "internal_error" message.
INTERNAL_CODES = frozenset(
    {"invalid_voucher_batch", "voucher_batch_not_found", "voucher"}  # staff's batch commands; an order event
) | frozenset(
    {
        # broken invariants: ledger, orders, bundles, rating
        "domain_error",
        "ledger_error",
        "concurrent_update",
        "duplicate_transfer",
        "unbalanced_delivery",
        "invalid_posting",
        "invalid_transfer_id",  # a transfer id that does not start with one of our ids: no month for it
        "invalid_account",
        "transfer_already_resolved",
        "invalid_transfer_action",
        "invalid_quote",
        "invalid_rate",  # a malformed rate in an imported file or a stored quote: the operator's to fix
        "naive_datetime",
        "invalid_bundle",
        "bundle_exists",
        "bundle_line_mismatch",
        "bundle_not_pending",
        "activation_before_purchase",
        "invalid_terms",
        "invalid_usage",
        "invalid_credit",
        "invalid_overage_price",
        "invalid_id",
        "invalid_network",
        "invalid_plan",
        # ledger posting kinds (bookkeeping labels, not errors)
        "payment_captured",
        "refund_issued",
        # carrier transport outcomes: they only drive retries and are never an order's failure code
        "unreachable",
        "timeout",
        "unreadable_answer",
        "system_error",
        # an aggregator's (DT One's) in-between states: they drive the worker's polling, never a failure
        "created",
        "pending",
        "in_flight",
        "external_id_used",
        "insufficient_float",
        "not_supported",  # the aggregator cannot tell a line's balance: shown as balance_not_shared
    }
)
# Order and line events for staff: a webhook under review, a recycled ICCID (smdp_: the SM-DP+ wording).
INTERNAL_CODES |= {"payment_needs_review", "review_refunded", "amount_mismatch", "currency_mismatch"}
INTERNAL_CODES |= {"iccid_recycled", "smdp_iccid_in_use"}
# Payment attempts and refunds, for staff: a stray success refunded, a refund that needs a manual payout.
INTERNAL_CODES |= {"manual_payout"}
# A batch's carrier call never made, or raised: outcome unknown, the next attempt asks the carrier.
INTERNAL_CODES |= {"carrier_call_not_made", "carrier_call_failed"}
INTERNAL_CODES |= {"charge_not_captured"}  # a refund asked of an unpaid Checkout Session: retried (staff)
INTERNAL_CODES |= {"payout_reference_required", "stray_payment_captured", "stray_payment_refunded"}
INTERNAL_CODES |= {"in_flight_moved", "rollup_conflict"}  # ledger: the migration's transfers, roll-up
INTERNAL_CODES |= RETAIL_INTERNAL_CODES  # shops: staff commands, bookkeeping labels
MESSAGES |= RETAIL_MESSAGES
MESSAGES |= AUTOTOPUP_MESSAGES
INTERNAL_CODES |= AUTOTOPUP_INTERNAL_CODES
INTERNAL_CODES |= PROMOTION_INTERNAL_CODES  # promotions: bookkeeping labels
MESSAGES |= PROMOTION_MESSAGES  # promo codes and promotions, on every channel

SMDP_PREFIX = "smdp_"


def message_for(code: str, fallback: str = "") -> str:
    """The customer's wording of `code` in the active language; `fallback` (or the code) if it has none.

    SM-DP+ refusals (`smdp_<subject>_<reason>`) share one message; internal codes get the generic one.
    """
    message = MESSAGES.get(code)
    if message is None and code.startswith(SMDP_PREFIX):
        message = MESSAGES["smdp_refused"]
    elif message is None and code in INTERNAL_CODES:
        message = MESSAGES["internal_error"]
    return str(message) if message is not None else fallback or code


def error_body(code: str, message: str | None = None, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message or message_for(code), "field": field}}


def domain_error_body(error: DomainError) -> dict[str, object]:
    return error_body(error.code, message_for(error.code, error.message), error.field)


INTERNAL_CODES |= {"username_required", "username_taken", "invalid_role"}  # `topup agents create` (staff)
