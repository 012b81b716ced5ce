"""Recharge vouchers: batches, vouchers kept as a keyed hash of their PIN (never the PIN), failed attempts."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from topup.db.fields import BlindIndexField, EncryptedTextField, HashedField, PersonalManager


class VoucherBatch(models.Model):
    """One print run of vouchers for one plan; the PINs exist only in the file handed to the printer."""

    # YYMMDD + 4 Crockford characters
    id = models.CharField(primary_key=True, max_length=20, verbose_name=_("ID"))
    network = models.ForeignKey(
        "topup.NetworkRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("network")
    )
    plan = models.ForeignKey(
        "topup.PlanRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    count = models.PositiveIntegerField(verbose_name=_("count"))
    pin_length = models.PositiveSmallIntegerField(verbose_name=_("PIN length"))
    # The plan's price when the batch was printed
    price_minor = models.PositiveIntegerField(verbose_name=_("price"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    note = models.CharField(max_length=200, blank=True, default="", verbose_name=_("note"))

    class Meta:
        db_table = "voucher_batch"
        verbose_name = _("voucher batch")
        verbose_name_plural = _("voucher batches")

    def __str__(self) -> str:
        return self.id


class Voucher(models.Model):
    # The serial printed on the card, not secret
    id = models.CharField(primary_key=True, max_length=30, verbose_name=_("ID"))
    batch = models.ForeignKey(
        VoucherBatch, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("batch")
    )
    plan = models.ForeignKey(
        "topup.PlanRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    # HMAC-SHA256 of the normalised PIN
    pin_hash = models.CharField(max_length=64, unique=True, verbose_name=_("PIN hash"))
    # Issued | active | redeemed | void | expired
    state = models.CharField(max_length=10, verbose_name=_("state"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    activated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("activated at"))
    redeemed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("redeemed at"))
    # MSISDN (E.164) or ICCID
    redeemed_by = EncryptedTextField(blank=True, default="", verbose_name=_("redeemed by"))
    redeemed_by_index = BlindIndexField(
        source="redeemed_by", blank=True, default="", db_index=True, verbose_name=_("redeemed by index")
    )
    objects = PersonalManager()
    channel = models.CharField(max_length=10, blank=True, default="", verbose_name=_("channel"))
    order = models.ForeignKey(
        "topup.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )

    class Meta:
        db_table = "voucher"
        indexes = [models.Index(fields=["state", "expires_at"], name="voucher_state_expiry")]
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")

    def __str__(self) -> str:
        return self.id


class RedeemAttempts(models.Model):
    """Consecutive failed redemptions of one caller, reset by a success; the key is the caller's kind and a
    blind index of its value (`line:<index>`, `ip:<hash_ip>`, `ussd:<index>`), never in clear."""

    key = HashedField(purpose="redeem_attempts", unique=True)  # kept as a keyed digest of the caller
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)  # for support tools; the policy decides

    class Meta:
        db_table = "voucher_redeem_attempts"

    def __str__(self) -> str:
        return f"attempts {self.key[:8]}"
