"""Double-entry ledger rows: accounts with running totals and immutable transfers.

Balances follow TigerBeetle's shape: posted and pending totals on each side, changed only by
one conditional UPDATE per account so that a no-overdraft account can never go below zero.
"""

from __future__ import annotations

from django.db import models


class Account(models.Model):
    id = models.CharField(primary_key=True, max_length=80)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    no_overdraft = models.BooleanField(default=False)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)

    class Meta:
        db_table = "ledger_account"

    def __str__(self) -> str:
        return self.id


class Transfer(models.Model):
    """One movement of an amount from a debit account to a credit account; never updated but for status."""

    id = models.CharField(primary_key=True, max_length=120)  # the idempotent id, e.g. ord_..:capture
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10)  # pending | posted | voided
    code = models.CharField(max_length=40)
    order_id = models.CharField(max_length=40, null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Facts the amount alone does not say, e.g. the frozen FX of an order's capture (rate, source, date,
    # markup, yuan amount); the amount and currency above stay the ledger's own (EUR).
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "ledger_transfer"
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="transfer_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.id
