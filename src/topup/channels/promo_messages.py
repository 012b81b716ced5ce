"""The wording of the promo-code refusals (services/promotions raises them with field "promo_code"),
translated like every other message; every channel (web, POS, SMS, USSD, API) shows the same words."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PROMO_MESSAGES = {
    "promo_code_unknown": _("This promo code is not known. Check how it is written and try again."),
    "promo_code_used_up": _("This promo code has already been used as many times as it may be."),
    "promo_code_expired": _("This promo code has expired or is not valid yet."),
    "promo_code_not_applicable": _(
        "This promo code does not apply to this purchase. Check its conditions, such as the minimum amount."
    ),
}
