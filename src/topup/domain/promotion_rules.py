"""Promotion rules: which campaigns apply to a purchase, in which order, and what each saves or adds.

A campaign is one rule (first top-up, buy-one-get-one, percent, fixed, bonus credit, bonus data) with its
eligibility (dates, channels, networks, plans, a minimum amount, a code) and a budget. Campaigns are applied
by priority (lowest first, then id): an exclusive campaign applies alone (only when nothing applied before
it); a combinable one stacks, a percent being taken of what is left after the earlier ones. A saving never
takes the total below zero, and a campaign whose cost would pass its remaining budget does not apply.
`discounted` turns a quote and its promotions into the discounted quote: VAT on what the customer pays, the
carrier's share of the full price unchanged (the difference is our promotion expense, domain/ledger).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Final

from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.domain.money import Money, split_vat
from topup.domain.promotions import AppliedPromotion
from topup.domain.quotes import Quote

CHANNELS: Final = ("web", "api", "kiosk", "ivr", "sms", "ussd", "agent", "pos")
_CODE: Final = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,31}")


class Rule(StrEnum):
    FIRST_TOPUP = "first_topup"
    BOGO = "bogo"
    PERCENT = "percent"
    FIXED = "fixed"
    BONUS_CREDIT = "bonus_credit"
    BONUS_DATA = "bonus_data"


class Stacking(StrEnum):
    EXCLUSIVE = "exclusive"
    COMBINABLE = "combinable"


class BogoMode(StrEnum):
    SAME_PURCHASE = "same_purchase"  # a second bundle of the plan free with this one
    NEXT_PURCHASE = "next_purchase"  # the same plan free on the customer's next purchase (an entitlement)


class RefundRule(StrEnum):
    RESTORE = "restore"  # a refund gives the code's use (and the budget) back
    KEEP_USED = "keep_used"  # a refund keeps the use counted: a refunded code cannot be reused


# The rule names an applied promotion carries beyond the campaign rules: a BOGO that grants the next
# purchase, and the free purchase that consumes that grant.
BOGO_GRANT: Final = "bogo_next"


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign's terms as the engine reads them; `percent_bp` for percent and first top-up percent,
    `amount_minor` for fixed, first top-up fixed and bonus credit; `budget_left_minor` None: no budget."""

    id: str
    rule: Rule
    names: tuple[tuple[str, str], ...]
    currency: str = "EUR"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    channels: frozenset[str] = frozenset()  # empty: every channel
    networks: frozenset[str] = frozenset()  # empty: every network
    plans: frozenset[str] = frozenset()  # empty: every plan
    priority: int = 100
    stacking: Stacking = Stacking.COMBINABLE
    percent_bp: int = 0
    amount_minor: int = 0
    bonus_data_mb: int = 0
    min_amount_minor: int = 0
    within_days: int = 0  # bonus rules: the previous top-up at most this many days before (0: any time)
    bogo_mode: BogoMode = BogoMode.SAME_PURCHASE
    requires_code: bool = False
    budget_left_minor: int | None = None

    def name_in(self, language: str) -> str:
        names = dict(self.names)
        return names.get(language) or names.get("en") or next(iter(names.values()), self.id)


@dataclass(frozen=True, slots=True)
class Purchase:
    """What is being bought, and the facts about the customer the rules need (gathered by the service)."""

    plan_id: str
    network_id: str
    hosted: bool  # our own eSIM network: we deliver bonus credit and data ourselves
    price: Money
    channel: str  # "" when the caller did not say
    at: datetime
    first_purchase: bool  # no earlier delivered order for this customer
    existing_line: bool = False  # a top-up of a line that exists (bonuses need one)
    days_since_last_topup: int | None = None
    code_campaign: str = ""  # the campaign of the code the customer gave
    entitled: frozenset[str] = frozenset()  # BOGO campaigns with a free next purchase of this plan waiting


def normalise_code(text: str) -> str:
    """A code as typed ("flyer5 ", "Flyer-5") in its stored form: upper case, no spaces."""
    return "".join(text.split()).upper()


def check_code_format(code: str) -> str:
    """A code that cannot exist is refused as an unknown one (a NotFound, like a plan that is not on sale)."""
    if not _CODE.fullmatch(code):
        raise NotFound(
            "a promo code is 3 to 32 letters, digits, - or _", code="promo_code_unknown", field="promo_code"
        )
    return code


def validate(campaign: Campaign, hosted_networks: Iterable[str]) -> None:
    """Refuse terms that cannot be honoured: a bonus only on hosted networks, sane amounts, known channels."""
    hosted = frozenset(hosted_networks)
    if campaign.rule in {Rule.BONUS_CREDIT, Rule.BONUS_DATA} and (
        not campaign.networks or not campaign.networks <= hosted
    ):
        raise InvalidInput(
            "bonus credit or data is only given on our own eSIM network: list only hosted networks",
            code="promotion_invalid", field="networks",
        )  # fmt: skip
    if campaign.rule is Rule.BOGO and (not campaign.networks or not campaign.networks <= hosted):
        raise InvalidInput(
            "buy-one-get-one gives a bundle we deliver ourselves: list only hosted networks",
            code="promotion_invalid", field="networks",
        )  # fmt: skip
    if not 0 <= campaign.percent_bp <= 10_000 or campaign.amount_minor < 0 or campaign.bonus_data_mb < 0:
        raise InvalidInput("a percentage is 0-100 % and amounts are positive", code="promotion_invalid")
    if campaign.rule is Rule.PERCENT and not campaign.percent_bp:
        raise InvalidInput("a percent campaign needs its percentage", code="promotion_invalid")
    if campaign.rule in {Rule.FIXED, Rule.BONUS_CREDIT} and not campaign.amount_minor:
        raise InvalidInput("this campaign needs its amount", code="promotion_invalid")
    if campaign.rule is Rule.FIRST_TOPUP and not (campaign.percent_bp or campaign.amount_minor):
        raise InvalidInput(
            "a first top-up discount needs a percentage or an amount", code="promotion_invalid"
        )
    if campaign.rule is Rule.BONUS_DATA and not campaign.bonus_data_mb:
        raise InvalidInput("a bonus data campaign needs its MB", code="promotion_invalid")
    unknown = campaign.channels - set(CHANNELS)
    if unknown:
        raise InvalidInput(f"unknown channels {sorted(unknown)}", code="promotion_invalid", field="channels")
    if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        raise InvalidInput("a campaign ends after it starts", code="promotion_invalid", field="ends_at")


def once_per_customer(rule: str, flagged: bool) -> bool:
    """Whether a customer may have a campaign's promotion once only: when staff said so, and always for a
    first top-up discount."""
    return flagged or rule == Rule.FIRST_TOPUP.value


def is_running(campaign: Campaign, at: datetime) -> bool:
    return (campaign.starts_at is None or campaign.starts_at <= at) and (
        campaign.ends_at is None or at < campaign.ends_at
    )


def eligible(campaign: Campaign, purchase: Purchase) -> bool:
    """The campaign's conditions hold for this purchase (its budget and stacking are checked by `apply`)."""
    if not is_running(campaign, purchase.at) or campaign.currency != purchase.price.currency:
        return False
    if campaign.requires_code and purchase.code_campaign != campaign.id:
        return False
    # A campaign limited to channels applies only to a request that names one of them ("" names none).
    if campaign.channels and purchase.channel not in campaign.channels:
        return False
    scoped = ((campaign.networks, purchase.network_id), (campaign.plans, purchase.plan_id))
    if any(allowed and value not in allowed for allowed, value in scoped):
        return False
    if purchase.price.amount_minor < campaign.min_amount_minor:
        return False
    if campaign.rule is Rule.FIRST_TOPUP:
        return purchase.first_purchase
    if campaign.rule in {Rule.BONUS_CREDIT, Rule.BONUS_DATA}:
        return purchase.hosted and purchase.existing_line and _recent(campaign, purchase)
    if campaign.rule is Rule.BOGO:
        return purchase.hosted
    return True


def _recent(campaign: Campaign, purchase: Purchase) -> bool:
    if not campaign.within_days:
        return True
    days = purchase.days_since_last_topup
    return days is not None and days <= campaign.within_days


def _percent_of(amount: Money, percent_bp: int) -> Money:
    exact = Decimal(amount.amount_minor) * percent_bp / 10_000
    return Money(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), amount.currency)


def _reward(campaign: Campaign, purchase: Purchase, left: Money, language: str) -> AppliedPromotion:
    zero = Money.zero(left.currency)
    saving, bonus_credit, bonus_mb, free_plan, rule = zero, None, 0, "", campaign.rule.value
    percent = campaign.rule is Rule.PERCENT or (campaign.rule is Rule.FIRST_TOPUP and campaign.percent_bp)
    if percent:
        saving = _percent_of(left, campaign.percent_bp)
    elif campaign.rule in {Rule.FIXED, Rule.FIRST_TOPUP}:
        saving = Money(min(campaign.amount_minor, left.amount_minor), left.currency)
    elif campaign.rule is Rule.BONUS_CREDIT:
        bonus_credit = Money(campaign.amount_minor, left.currency)
    elif campaign.rule is Rule.BONUS_DATA:
        bonus_mb = campaign.bonus_data_mb
    elif campaign.id in purchase.entitled:  # BOGO: the free purchase granted by an earlier one
        saving = left
    elif campaign.bogo_mode is BogoMode.SAME_PURCHASE:
        free_plan = purchase.plan_id
    else:
        free_plan, rule = purchase.plan_id, BOGO_GRANT
    return AppliedPromotion(
        campaign_id=campaign.id, rule=rule, name=campaign.name_in(language), saving=saving,
        bonus_credit=bonus_credit, bonus_data_mb=bonus_mb, free_plan_id=free_plan, names=campaign.names,
    )  # fmt: skip


def cost_minor(promotion: AppliedPromotion, price: Money) -> int:
    """What a promotion costs its campaign's budget: the saving, the bonus credit, a free bundle's price."""
    cost = promotion.saving.amount_minor
    if promotion.bonus_credit is not None:
        cost += promotion.bonus_credit.amount_minor
    if promotion.free_plan_id and promotion.rule == Rule.BOGO.value:
        cost += price.amount_minor
    return cost


def ordered(campaigns: Iterable[Campaign]) -> list[Campaign]:
    """The stated order: priority, then id (ids are time-ordered: the older campaign first)."""
    return sorted(campaigns, key=lambda c: (c.priority, c.id))


def apply(campaigns: Sequence[Campaign], purchase: Purchase, language: str) -> tuple[AppliedPromotion, ...]:
    """The promotions that apply, in order; each saving is taken from what the earlier ones left."""
    applied: list[AppliedPromotion] = []
    left = purchase.price
    for campaign in ordered(campaigns):
        if not eligible(campaign, purchase):
            continue
        if campaign.stacking is Stacking.EXCLUSIVE and applied:
            continue
        promotion = _reward(campaign, purchase, left, language)
        if campaign.budget_left_minor is not None and cost_minor(promotion, purchase.price) > (
            campaign.budget_left_minor
        ):
            continue
        if _gives_nothing(promotion):
            continue
        applied.append(promotion)
        left = left - promotion.saving
        if campaign.stacking is Stacking.EXCLUSIVE:
            break  # an exclusive campaign applies alone
    return tuple(applied)


def _gives_nothing(promotion: AppliedPromotion) -> bool:
    return not (
        promotion.saving.is_positive()
        or promotion.bonus_credit is not None
        or promotion.bonus_data_mb
        or promotion.free_plan_id
    )


def require_code_applied(code_campaign: str, applied: Sequence[AppliedPromotion]) -> None:
    """A code the customer gave must be one of the promotions applied, else it is refused (never ignored)."""
    if code_campaign and all(p.campaign_id != code_campaign for p in applied):
        raise Conflict(
            "this promo code does not apply to this purchase", code="promo_code_not_applicable",
            field="promo_code",
        )  # fmt: skip


def discounted(quote: Quote, promotions: Sequence[AppliedPromotion]) -> Quote:
    """The quote with its promotions: VAT on the total paid; the carrier keeps its share of the full price,
    so our commission on this order is what is left of the net (negative when we fund the discount)."""
    if not promotions:
        return quote
    discount = Money(sum(p.saving.amount_minor for p in promotions), quote.currency)
    if quote.price < discount:
        raise InvalidInput("a discount cannot exceed the price", code="invalid_quote", field="quote")
    total = quote.price - discount
    split = split_vat(total, quote.vat_rate_bp)
    return replace(
        quote, discount=discount, total=total, net=split.net, vat=split.vat,
        commission=split.net - quote.carrier_amount, promotions=tuple(promotions),
    )  # fmt: skip
