"""The wording of the promotion engine's error codes (services/promotions), translated like every other
message; each channel shows it beside its promo code field or in its reply."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PROMOTION_MESSAGES = {
    "promo_code_unknown": _("This promo code is not known. Check how it is written and try again."),
    "promo_code_used_up": _("This promo code has already been used as many times as it may be."),
    "promo_code_expired": _("This promo code has expired or is not valid yet."),
    "promo_code_not_applicable": _(
        "This promo code does not apply to this purchase. Check its conditions, such as the minimum amount."
    ),
    "promotion_ended": _("This promotion has just ended. Check the new price and try again."),
    "promotion_invalid": _("These promotion terms cannot be honoured. Check the rule, networks and amounts."),
}
# Bookkeeping labels: the event of an order a promotion paid, the ledger's promotion postings.
PROMOTION_INTERNAL_CODES = frozenset({"promotion"})
