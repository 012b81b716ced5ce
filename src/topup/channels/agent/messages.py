"""The agent console's wording of the error codes it meets (the customer-facing ones come from
`topup.channels.messages`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from topup.channels.messages import message_for

AGENT_MESSAGES = {
    "sign_in_failed": _("Wrong username or password."),
    "totp_failed": _("This code is wrong or was already used. Wait for the next code."),
    "locked": _("Too many failed attempts: this account is locked for 15 minutes."),
    "search_empty": _("Enter a number, an ICCID or an order id."),
    "line_not_found": _("No line has this ICCID."),
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
    "invalid_amount": _("Enter a positive amount, e.g. 5.00."),
    "invalid_money": _("Enter a positive amount, e.g. 5.00."),
    "goodwill_needs_hosted_line": _("Goodwill credit can be given on one of our eSIM lines only."),
    "refund_already_requested": _("A refund of this order was already asked for."),
    "already_decided": _("This request was already decided."),
    "own_request": _("Nobody approves their own request."),
    "forbidden_role": _("Only a supervisor may decide a request."),
    "request_not_found": _("This request does not exist."),
    "no_receipt": _("Only a delivered order has a receipt."),
    "not_cancellable": _("Only a delivered new eSIM can be refunded here."),
    "esim_already_downloaded": _("The eSIM was already downloaded to a phone: it can no longer be refunded."),
    "customer_required": _("Find a customer first."),
}


def agent_message(code: str) -> str:
    message = AGENT_MESSAGES.get(code)
    return str(message) if message is not None else message_for(code)
