"""Auto top-ups (a saved card charged each period, or when the credit or a bundle runs low) and their runs.

The line, plan, language and addresses are those of the order that set it up (`origin`), whose personal
data stays encrypted there. `AutoTopupRun` is unique per (auto top-up, period key): one renewal per period.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AutoTopup(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    # The order that set it up (its line, language, e-mail, and who may see it: services/order_access)
    origin = models.OneToOneField(
        "topup.Order", on_delete=models.PROTECT, related_name="auto_topup", verbose_name=_("first order")
    )
    line = models.ForeignKey(
        "topup.Line", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("line"),
    )  # fmt: skip
    plan = models.ForeignKey(
        "topup.PlanRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    trigger = models.CharField(max_length=10, verbose_name=_("trigger"))  # periodic | threshold
    period = models.CharField(max_length=12, blank=True, default="", verbose_name=_("period"))
    threshold_minor = models.BigIntegerField(default=0, verbose_name=_("threshold"))
    cap_minor = models.BigIntegerField(verbose_name=_("monthly cap"))
    # TMF654 numberOfPeriods: stop after this many periodic runs (None: until cancelled)
    number_of_periods = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("number of periods")
    )
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    provider = models.CharField(max_length=40, verbose_name=_("provider"))
    customer_ref = models.CharField(
        max_length=80, blank=True, default="", verbose_name=_("customer at provider")
    )
    payment_method_ref = models.CharField(
        max_length=80, blank=True, default="", verbose_name=_("saved card at provider")
    )
    card_label = models.CharField(max_length=40, blank=True, default="", verbose_name=_("card"))  # visa 4242
    # One of domain.autotopup.Status: pending, active, paused, cancelled
    status = models.CharField(max_length=10, default="pending", verbose_name=_("status"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failed charges"))
    next_run_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next run"))
    reminded_for = models.CharField(max_length=20, blank=True, default="", verbose_name=_("reminded for"))
    cancel_token_hash = models.CharField(max_length=64, verbose_name=_("cancel token hash"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))

    class Meta:
        db_table = "auto_topup"
        indexes = [models.Index(fields=["status", "next_run_at"], name="auto_topup_due")]
        verbose_name = _("auto top-up")
        verbose_name_plural = _("auto top-ups")

    def __str__(self) -> str:
        return self.id


class AutoTopupRun(models.Model):
    """One renewal: created before its order and charge, never twice for a period key."""

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    auto_topup = models.ForeignKey(
        AutoTopup, on_delete=models.PROTECT, related_name="runs", verbose_name=_("auto top-up")
    )
    period_key = models.CharField(
        max_length=60, verbose_name=_("period")
    )  # 2026-12, 2026-W49, low@2026-12-04
    month = models.CharField(max_length=7, verbose_name=_("month"))  # counts against this month's cap
    order = models.ForeignKey(
        "topup.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("order"),
    )  # fmt: skip
    payment_id = models.CharField(max_length=40, blank=True, default="", verbose_name=_("current payment"))
    amount_minor = models.BigIntegerField(default=0, verbose_name=_("amount"))
    # One of domain.autotopup.RunState
    state = models.CharField(max_length=10, default="started", verbose_name=_("state"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("charge attempts"))
    failure_code = models.CharField(max_length=60, blank=True, default="", verbose_name=_("failure code"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        db_table = "auto_topup_run"
        constraints = [
            models.UniqueConstraint(
                fields=["auto_topup", "period_key"], name="auto_topup_run_once_per_period"
            )
        ]
        verbose_name = _("auto top-up run")
        verbose_name_plural = _("auto top-up runs")

    def __str__(self) -> str:
        return f"{self.auto_topup_id}@{self.period_key}"
