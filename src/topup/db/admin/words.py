"""Staff's words for the codes stored in rows (statuses, channels, tenders), in the reader's language, for
the columns and filters of the back office; an unknown code is shown as it is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CHANNELS: Final[Mapping[str, Promise]] = {
    "web": _("website"),
    "api": _("API"),
    "kiosk": _("kiosk"),
    "pos": _("shop terminal"),
    "agent": _("agent"),
    "sms": _("SMS"),
    "ussd": _("USSD"),
    "ivr": _("phone (IVR)"),
}
ORDER_STATUSES: Final[Mapping[str, Promise]] = {
    "created": _("created"),
    "awaiting_payment": _("awaiting payment"),
    "paid": _("paid"),
    "delivering": _("delivering"),
    "delivered": _("delivered"),
    "expired": _("expired"),
    "cancelled": _("cancelled"),
    "delivery_failed": _("delivery failed"),
    "refunded": _("refunded"),
}
PAYMENT_STATUSES: Final[Mapping[str, Promise]] = {
    "requires_action": _("requires action"),
    "processing": _("processing"),
    "succeeded": _("succeeded"),
    "failed": _("failed"),
    "refunded": _("refunded"),
    "needs_review": _("needs review"),
}
SALE_STATUSES: Final[Mapping[str, Promise]] = {
    "sold": _("sold"),
    "voided": _("voided"),
    "refunded": _("refunded"),
}
SALE_KINDS: Final[Mapping[str, Promise]] = {"direct": _("direct top-up"), "pin": _("PIN sale")}
TENDERS: Final[Mapping[str, Promise]] = {"cash": _("cash"), "card": _("card")}

# The lines of a Z report (topup.domain.shifts.ShiftReport.to_dict), in the order a cashier reads them.
Z_REPORT_LINES: Final[Mapping[str, Promise]] = {
    "opening_float_minor": _("opening float"),
    "carried_minor": _("carried over"),
    "opening_difference_minor": _("opening difference"),
    "sales_count": _("sales"),
    "cash_sales_minor": _("cash sales"),
    "card_sales_minor": _("card sales"),
    "cash_received_minor": _("cash received"),
    "change_given_minor": _("change given"),
    "voids_count": _("voids"),
    "cash_voids_minor": _("cash voids"),
    "card_voids_minor": _("card voids"),
    "refunds_count": _("refunds"),
    "cash_refunds_minor": _("cash refunds"),
    "card_refunds_minor": _("card refunds"),
    "paid_in_minor": _("paid in"),
    "paid_out_minor": _("paid out"),
    "expected_cash_minor": _("expected cash"),
    "counted_cash_minor": _("counted cash"),
    "variance_minor": _("variance"),
    "variance_reason": _("reason for the variance"),
}


def word(words: Mapping[str, Promise], code: str) -> str:
    return str(words.get(code, code))
