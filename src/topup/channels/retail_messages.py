"""The wording of the shop terminals' error codes (POS API, kiosk), translated like every other message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

RETAIL_MESSAGES = {
    "terminal_signature_required": _(
        "This terminal request is not signed. Send the X-Terminal-Id, X-Timestamp, X-Nonce and "
        "X-Signature headers."
    ),
    "invalid_timestamp": _("The request's timestamp is not valid."),
    "stale_timestamp": _("The request's timestamp is too old or in the future. Check the terminal's clock."),
    "invalid_nonce": _("The request's nonce must be 16 to 64 letters, digits, - or _."),
    "nonce_reused": _("This request was sent before. Each request needs a new nonce."),
    "unknown_terminal": _("This terminal is not registered or is switched off."),
    "terminal_not_found": _("This terminal is not registered or is switched off."),
    "invalid_terminal_signature": _("The terminal's signature is not valid."),
    "float_insufficient": _("The shop's float is too low for this sale. Top up the float, then try again."),
    "terminal_ref_conflict": _("This sale reference was already used for another sale."),
    "invalid_terminal_ref": _(
        "The sale reference must be 1 to 64 letters, digits, dots, colons, dashes or underscores."
    ),
    "sale_not_found": _("No sale with this reference on this terminal."),
    "sale_not_voidable": _("This sale can no longer be voided: the top-up is already with the operator."),
    "void_window_passed": _("A voucher can only be voided within 72 hours of the sale."),
    "invalid_sale_kind": _("Choose a direct top-up or a voucher PIN."),
    "no_pin_for_network": _("This operator's top-ups cannot be sold as a voucher PIN. Sell a direct top-up."),
    "invalid_tender": _("Choose cash or card."),
    "cash_given_too_small": _("The cash given is less than the price."),
    "shift_not_open": _("Open a shift on this terminal first."),
    "shift_already_open": _("A shift is already open on this terminal. Close it with a Z report first."),
    "shift_closed": _("This shift is closed: its Z report cannot change."),
    "variance_reason_required": _("The counted cash differs from the expected cash. Give a reason."),
}

# Staff's commands and bookkeeping labels: never a customer's wording.
RETAIL_INTERNAL_CODES = frozenset(
    {
        "invalid_retailer", "retailer_not_found", "invalid_commission", "invalid_terminal_kind",
        "bank_reference_required", "bank_reference_used", "sale_voided", "retail_void", "retail_refund",
        "retail_sale", "invalid_cash_movement",
    }
)  # fmt: skip
