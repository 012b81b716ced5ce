"""Recharge vouchers: batches, vouchers kept as a keyed hash of their PIN (never the PIN), failed attempts."""

from __future__ import annotations

from django.db import models

from topup.db.fields import BlindIndexField, EncryptedTextField, HashedField, PersonalManager


class VoucherBatch(models.Model):
    """One print run of vouchers for one plan; the PINs exist only in the file handed to the printer."""

    id = models.CharField(primary_key=True, max_length=20)  # YYMMDD + 4 Crockford characters
    network = models.ForeignKey("topup.NetworkRecord", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey("topup.PlanRecord", on_delete=models.PROTECT, related_name="+")
    count = models.PositiveIntegerField()
    pin_length = models.PositiveSmallIntegerField()
    price_minor = models.PositiveIntegerField()  # the plan's price when the batch was printed
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        db_table = "voucher_batch"

    def __str__(self) -> str:
        return self.id


class Voucher(models.Model):
    id = models.CharField(primary_key=True, max_length=30)  # the serial printed on the card, not secret
    batch = models.ForeignKey(VoucherBatch, on_delete=models.PROTECT, related_name="vouchers")
    plan = models.ForeignKey("topup.PlanRecord", on_delete=models.PROTECT, related_name="+")
    pin_hash = models.CharField(max_length=64, unique=True)  # HMAC-SHA256 of the normalised PIN
    state = models.CharField(max_length=10)  # issued | active | redeemed | void | expired
    expires_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = EncryptedTextField(blank=True, default="")  # MSISDN (E.164) or ICCID
    redeemed_by_index = BlindIndexField(source="redeemed_by", blank=True, default="", db_index=True)
    objects = PersonalManager()
    channel = models.CharField(max_length=10, blank=True, default="")
    order = models.ForeignKey(
        "topup.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "voucher"
        indexes = [models.Index(fields=["state", "expires_at"], name="voucher_state_expiry")]

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
