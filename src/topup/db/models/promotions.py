"""Promotions as rows: campaigns and their terms, codes, every redemption, and BOGO entitlements.

Counters move only by conditional UPDATEs (services/promotions): a code's `uses` never passes `max_uses`,
a campaign's `spent_minor` never passes `budget_minor`, and a customer redeems a once-per-customer
campaign once (a partial unique constraint on the counted redemptions).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from topup.domain import promotion_rules as rules

RULES = [(rule.value, rule.value) for rule in rules.Rule]
STACKING = [(item.value, item.value) for item in rules.Stacking]
BOGO_MODES = [(item.value, item.value) for item in rules.BogoMode]
REFUND_RULES = [(item.value, item.value) for item in rules.RefundRule]

RESERVED, CONFIRMED, RELEASED, ROLLED_BACK = "reserved", "confirmed", "released", "rolled_back"
REDEMPTION_STATES = [(s, s) for s in (RESERVED, CONFIRMED, RELEASED, ROLLED_BACK)]
AVAILABLE, USED, VOID = "available", "used", "void"
ENTITLEMENT_STATES = [(s, s) for s in (AVAILABLE, RESERVED, USED, VOID)]
_WITHIN_BUDGET = models.Q(budget_minor__isnull=True) | models.Q(spent_minor__lte=models.F("budget_minor"))


class Campaign(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    # The campaign's name per language ({"en": "...", "nl": "...", "zh-hans": "..."})
    names = models.JSONField(default=dict, verbose_name=_("names"))
    rule = models.CharField(max_length=20, choices=RULES, verbose_name=_("rule"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    starts_at = models.DateTimeField(null=True, blank=True, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))
    # Comma-separated lists; empty: every channel / network / plan
    channels = models.CharField(max_length=200, blank=True, default="", verbose_name=_("channels"))
    networks = models.CharField(max_length=400, blank=True, default="", verbose_name=_("networks"))
    plans = models.CharField(max_length=1000, blank=True, default="", verbose_name=_("plans"))
    priority = models.IntegerField(default=100, verbose_name=_("priority"))
    stacking = models.CharField(
        max_length=12, choices=STACKING, default=rules.Stacking.COMBINABLE.value, verbose_name=_("stacking")
    )
    percent_bp = models.PositiveIntegerField(default=0, verbose_name=_("percent (basis points)"))
    amount_minor = models.PositiveBigIntegerField(default=0, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    bonus_data_mb = models.PositiveIntegerField(default=0, verbose_name=_("bonus data (MB)"))
    min_amount_minor = models.PositiveBigIntegerField(default=0, verbose_name=_("minimum amount"))
    within_days = models.PositiveIntegerField(default=0, verbose_name=_("within days of the last top-up"))
    bogo_mode = models.CharField(
        max_length=16, choices=BOGO_MODES, default=rules.BogoMode.SAME_PURCHASE.value,
        verbose_name=_("buy-one-get-one mode"),
    )  # fmt: skip
    requires_code = models.BooleanField(default=False, verbose_name=_("needs a code"))
    once_per_customer = models.BooleanField(default=False, verbose_name=_("once per customer"))
    refund_rule = models.CharField(
        max_length=12, choices=REFUND_RULES, default=rules.RefundRule.RESTORE.value,
        verbose_name=_("on refund"),
    )  # fmt: skip
    budget_minor = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("budget"))
    spent_minor = models.BigIntegerField(default=0, verbose_name=_("spent"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        db_table = "promotion_campaign"
        verbose_name = _("promotion campaign")
        verbose_name_plural = _("promotion campaigns")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(spent_minor__gte=0), name="campaign_spent_not_negative"
            ),
            models.CheckConstraint(condition=_WITHIN_BUDGET, name="campaign_within_budget"),
        ]

    def __str__(self) -> str:
        names = self.names if isinstance(self.names, dict) else {}
        return str(names.get("en") or self.id)


class PromoCode(models.Model):
    # Normalised: upper case, no spaces
    code = models.CharField(max_length=32, unique=True, verbose_name=_("code"))
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="codes", verbose_name=_("campaign")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    # None: unlimited; 1: a single-use code
    max_uses = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("maximum uses"))
    uses = models.PositiveIntegerField(default=0, verbose_name=_("uses"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        db_table = "promotion_code"
        verbose_name = _("promo code")
        verbose_name_plural = _("promo codes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(uses__lte=models.F("max_uses")),
                name="promo_code_within_limit",
            )
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    # The order's id (set before the order row exists: a reservation precedes the payment)
    order_id = models.CharField(max_length=40, db_index=True, verbose_name=_("order"))
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("campaign")
    )
    code = models.ForeignKey(
        PromoCode, on_delete=models.PROTECT, null=True, blank=True, related_name="redemptions",
        verbose_name=_("code"),
    )  # fmt: skip
    # Blind index of who redeemed it (line, or e-mail for a new eSIM); never the number itself
    customer_index = models.CharField(max_length=64, blank=True, default="", verbose_name=_("customer"))
    # Set for a once-per-customer campaign while the redemption counts: unique per campaign
    customer_key = models.CharField(max_length=64, blank=True, default="", verbose_name=_("customer key"))
    saving_minor = models.BigIntegerField(default=0, verbose_name=_("saving"))
    cost_minor = models.BigIntegerField(default=0, verbose_name=_("budget used"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    state = models.CharField(max_length=12, choices=REDEMPTION_STATES, verbose_name=_("state"))
    # True while it holds a use of its code, its budget and its customer's once (reserved, confirmed,
    # or rolled back under a keep-used refund rule)
    counted = models.BooleanField(default=True, verbose_name=_("counted"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        db_table = "promotion_redemption"
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        constraints = [
            models.UniqueConstraint(fields=["order_id", "campaign"], name="redemption_once_per_order"),
            models.UniqueConstraint(
                fields=["campaign", "customer_key"],
                condition=models.Q(counted=True) & ~models.Q(customer_key=""),
                name="redemption_once_per_customer",
            ),
        ]
        # Placement asks whether a customer already used a once-per-customer offer (counted redemptions by
        # customer_index): without this index PostgreSQL reads the whole table for every order.
        indexes = [
            models.Index(
                fields=["customer_index"],
                condition=models.Q(counted=True),
                name="redemption_counted_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.id


class Entitlement(models.Model):
    """A free purchase of a plan granted by a buy-one-get-one (next purchase), consumed by a later order."""

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="entitlements", verbose_name=_("campaign")
    )
    customer_index = models.CharField(max_length=64, db_index=True, verbose_name=_("customer"))
    plan_id = models.CharField(max_length=60, verbose_name=_("plan"))
    # The order that earned it (unique: a delivery grants once, whatever the retries)
    granted_by = models.CharField(max_length=40, unique=True, verbose_name=_("granted by order"))
    used_by = models.CharField(max_length=40, blank=True, default="", verbose_name=_("used by order"))
    state = models.CharField(max_length=10, choices=ENTITLEMENT_STATES, verbose_name=_("state"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        db_table = "promotion_entitlement"
        verbose_name = _("free purchase")
        verbose_name_plural = _("free purchases")

    def __str__(self) -> str:
        return self.id
