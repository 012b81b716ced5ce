"""Customer wording of auto top-up's error codes (merged into channels.messages)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AUTOTOPUP_MESSAGES = {
    "auto_topup_invalid": _("Choose how often to top up automatically: weekly, every two weeks or monthly."),
    "auto_topup_cap_too_low": _("The monthly limit is lower than one top-up. Choose a higher limit."),
    "auto_topup_card_only": _(
        "Automatic top-up works with a card only: Bancontact, Alipay and WeChat Pay need you to approve "
        "each payment."
    ),
    "auto_topup_unavailable": _("Automatic top-up is not available right now. Top up once instead."),
    "auto_topup_not_found": _("This automatic top-up does not exist or was already removed."),
}
AUTOTOPUP_INTERNAL_CODES = frozenset({"auto_topup"})  # the order event of an order auto top-up placed
