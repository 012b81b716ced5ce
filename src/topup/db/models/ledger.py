"""Double-entry ledger rows: accounts with running totals and immutable transfers.

Balances follow TigerBeetle's shape: posted and pending totals on each side. A no-overdraft account's
totals change by one conditional UPDATE per posting, so that it can never go below zero; any other
account is append-only: its totals are what the roll-up has folded in, its balance those totals plus
its transfers still marked `rollup_pending`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

_UNROLLED = models.Q(rollup_pending=True)


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
    # The time of the ULID that starts the id (domain.ledger.booked_at): PostgreSQL partitions the table by
    # its month and keys it by (id, booked_at), which is as unique as the id since the id fixes it.
    booked_at = models.DateTimeField(verbose_name=_("booked at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    # Facts the amount alone does not say, e.g. the frozen FX of an order's capture (rate, source, date,
    # markup, yuan amount); the amount and currency above stay the ledger's own (EUR).
    metadata = models.JSONField(default=dict, blank=True, verbose_name=_("metadata"))
    # True while a side on an append-only account is not yet in that account's totals (see db.ledger).
    rollup_pending = models.BooleanField(default=False, verbose_name=_("roll-up pending"))

    class Meta:
        db_table = "ledger_transfer"
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="transfer_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["debit_account"],
                condition=models.Q(rollup_pending=True),
                name="transfer_unrolled_debit",
            ),
            models.Index(
                fields=["credit_account"],
                condition=models.Q(rollup_pending=True),
                name="transfer_unrolled_credit",
            ),
        ]
        verbose_name = _("ledger transfer")
        verbose_name_plural = _("ledger transfers")

    def __str__(self) -> str:
        return self.id
