"""Customer-facing wording of every stable error code, translated with gettext per request language."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from topup.domain.errors import DomainError

MESSAGES = {
    "invalid_msisdn": _("This is not a valid phone number. Check the digits and try again."),
    "not_a_mobile_number": _(
        "This number is not a mobile number. Enter a Belgian mobile number (04xx xx xx xx)."
    ),
    "not_a_belgian_number": _("Only Belgian mobile numbers (+32 4xx xx xx xx) can be topped up here."),
    "invalid_iccid": _("This ICCID is not valid. Check the number printed on the SIM card."),
    "plan_not_found": _("This plan does not exist. Choose a plan from the list."),
    "plan_not_available": _("This plan is no longer on sale. Choose another plan."),
    "network_mismatch": _(
        "This number seems to belong to another network. Choose a plan of that network, "
        "or confirm the network if the number was ported."
    ),
    "invalid_payment_method": _("Choose a payment method: card, Bancontact, Alipay or WeChat Pay."),
    "idempotency_key_required": _("Send an Idempotency-Key header with this request."),
    "idempotency_conflict": _("This Idempotency-Key was already used for a different request."),
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
    "unknown_provider": _("This payment provider is not known."),
}


def message_for(code: str, fallback: str = "") -> str:
    message = MESSAGES.get(code)
    return str(message) if message is not None else fallback or code


def error_body(code: str, message: str | None = None, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message or message_for(code), "field": field}}


def domain_error_body(error: DomainError) -> dict[str, object]:
    return error_body(error.code, message_for(error.code, error.message), error.field)
