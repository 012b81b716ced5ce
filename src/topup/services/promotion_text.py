"""The words every channel shows for the promotions a quote applied: the campaign's name in the reader's
language and what it does ("- €5.00", "+ €2.00 credit", "+ 1 GB data", "free: <plan>").

One wording for the web review step, the POS receipt, SMS and USSD; the amounts are formatted by the
channel's own money function (its locale, its alphabet), the words here in Django's active language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import pgettext

from topup.domain.money import Money
from topup.domain.promotions import AppliedPromotion
from topup.services import plan_text

MINUS = "\u2212"  # U+2212: a saving reads as an amount taken off, not as a hyphen
GSM_MINUS = "-"  # SMS and USSD: U+2212 is not in the GSM alphabet and would force UCS-2 on the handset


@dataclass(frozen=True, slots=True)
class PromotionLine:
    """One applied promotion as a reader sees it: its name, and what it saves or adds."""

    name: str
    effect: str
    code: str  # the promo code that applied it, "" for an automatic promotion
    saving: Money | None  # None when it saves nothing (a bonus or a free plan)


def name_of(promotion: AppliedPromotion, language: str) -> str:
    return promotion.name_in(language) or promotion.code or promotion.campaign_id


def effects(
    promotion: AppliedPromotion, language: str, money: Callable[[Money], str], *, minus: str = MINUS
) -> list[str]:
    """What the promotion does, one phrase per reward, in the active language."""
    parts: list[str] = []
    if promotion.saving.is_positive():
        parts.append(f"{minus} {money(promotion.saving)}")
    if promotion.bonus_credit is not None and promotion.bonus_credit.is_positive():
        parts.append(pgettext("promotion", "+ %(amount)s credit") % {"amount": money(promotion.bonus_credit)})
    if promotion.bonus_data_mb:
        parts.append(pgettext("promotion", "+ %(amount)s data") % {"amount": data(promotion.bonus_data_mb)})
    if promotion.free_plan_id:
        title = plan_text.plan_title(promotion.free_plan_id, language)
        parts.append(pgettext("promotion", "free: %(plan)s") % {"plan": title})
    return parts


def data(mb: int) -> str:
    if mb % 1024 == 0:
        return pgettext("promotion", "%(amount)s GB") % {"amount": mb // 1024}
    return pgettext("promotion", "%(amount)s MB") % {"amount": mb}


def lines(
    promotions: Iterable[AppliedPromotion],
    language: str,
    money: Callable[[Money], str],
    *,
    minus: str = MINUS,
) -> list[PromotionLine]:
    """Each applied promotion, in the order the quote applied them."""
    return [
        PromotionLine(
            name=name_of(promotion, language),
            effect=", ".join(effects(promotion, language, money, minus=minus)),
            code=promotion.code,
            saving=promotion.saving if promotion.saving.is_positive() else None,
        )
        for promotion in promotions
    ]
