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


def word(words: Mapping[str, Promise], code: str) -> str:
    return str(words.get(code, code))
