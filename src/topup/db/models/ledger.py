"""Double-entry ledger rows: accounts with running totals and immutable transfers.

Balances follow TigerBeetle's shape: posted and pending totals on each side, changed only by
one conditional UPDATE per account so that a no-overdraft account can never go below zero.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    id = models.CharField(primary_key=True, max_length=80, verbose_name=_("ID"))
    name = models.CharField(max_length=120, verbose_name=_("name"))
    type = models.CharField(max_length=16, verbose_name=_("type"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    no_overdraft = models.BooleanField(default=False, verbose_name=_("no overdraft"))
    debits_posted = models.BigIntegerField(default=0, verbose_name=_("debits posted"))
    credits_posted = models.BigIntegerField(default=0, verbose_name=_("credits posted"))
    debits_pending = models.BigIntegerField(default=0, verbose_name=_("debits pending"))
    credits_pending = models.BigIntegerField(default=0, verbose_name=_("credits pending"))

    class Meta:
        db_table = "ledger_account"
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")

    def __str__(self) -> str:
        return self.id


class Transfer(models.Model):
    """One movement of an amount from a debit account to a credit account; never updated but for status."""

    # The idempotent id, e.g. ord_..:capture
    id = models.CharField(primary_key=True, max_length=120, verbose_name=_("ID"))
    debit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("debit account")
    )
    credit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("credit account")
    )
    amount_minor = models.BigIntegerField(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    status = models.CharField(max_length=10, verbose_name=_("status"))  # pending | posted | voided
    code = models.CharField(max_length=40, verbose_name=_("code"))
    order_id = models.CharField(max_length=40, null=True, blank=True, db_index=True, verbose_name=_("order"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    # Facts the amount alone does not say, e.g. the frozen FX of an order's capture (rate, source, date,
    # markup, yuan amount); the amount and currency above stay the ledger's own (EUR).
    metadata = models.JSONField(default=dict, blank=True, verbose_name=_("metadata"))

    class Meta:
        db_table = "ledger_transfer"
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="transfer_amount_positive"),
        ]
        verbose_name = _("ledger transfer")
        verbose_name_plural = _("ledger transfers")

    def __str__(self) -> str:
        return self.id
