"""Hosted lines (our eSIM data network): the line with its profile state history, bundles and usage."""

from __future__ import annotations

from django.db import models

from topup.db.fields import BlindIndexField, EncryptedTextField, PersonalManager
from topup.domain.bundles import Bundle, BundleStatus


class Line(models.Model):
    """One subscription on a hosted network: an eSIM profile (ICCID) and the balances we keep for it."""

    id = models.CharField(primary_key=True, max_length=40)
    network = models.ForeignKey("topup.NetworkRecord", on_delete=models.PROTECT, related_name="+")
    # Unique among live lines; an archived line (its ICCID recycled by the SM-DP+) keeps `<iccid>~<id>`.
    iccid = models.CharField(max_length=64, unique=True)
    msisdn = EncryptedTextField(null=True, blank=True)
    msisdn_index = BlindIndexField(source="msisdn", null=True, blank=True, unique=True)
    objects = PersonalManager()
    eid = EncryptedTextField(blank=True, default="")  # the device's id: personal
    matching_id = models.CharField(max_length=64, blank=True, default="")
    smdp_address = models.CharField(max_length=120, blank=True, default="")
    profile_state = models.CharField(max_length=20, default="released")
    credit_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    language = models.CharField(max_length=10, default="en")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True)  # a former life of a recycled ICCID
    archived_iccid = models.CharField(max_length=22, blank=True, default="")

    class Meta:
        db_table = "line"
        constraints = [
            models.CheckConstraint(condition=models.Q(credit_minor__gte=0), name="line_credit_not_negative")
        ]

    def __str__(self) -> str:
        return self.iccid

    @property
    def activation_code(self) -> str:
        return f"LPA:1${self.smdp_address}${self.matching_id}"


class LineEvent(models.Model):
    """A profile state change or another event of a line (thresholds, expiry), for agents and alerts."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)  # profile | bundle_threshold | bundle_expired | usage_refused
    state = models.CharField(max_length=30, blank=True, default="")
    code = models.CharField(max_length=60, blank=True, default="")
    detail = EncryptedTextField(blank=True, default="")
    source_ref = models.CharField(max_length=120, null=True, blank=True, unique=True)  # dedupes notifications
    at = models.DateTimeField()

    class Meta:
        db_table = "line_event"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.line_id} {self.kind} {self.state}"


class BundleRecord(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="bundles")
    plan = models.ForeignKey("topup.PlanRecord", on_delete=models.PROTECT, related_name="+")
    order_id = models.CharField(max_length=40, blank=True, default="")
    data_kb = models.BigIntegerField(null=True, blank=True)
    used_kb = models.BigIntegerField(default=0)
    fair_use_kb = models.BigIntegerField(null=True, blank=True)
    validity_days = models.PositiveIntegerField()
    purchased_at = models.DateTimeField()
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12)
    expired_remaining_kb = models.BigIntegerField(null=True, blank=True)  # recorded at expiry, never lost

    class Meta:
        db_table = "bundle"
        indexes = [models.Index(fields=["status", "expires_at"], name="bundle_expiry")]
        constraints = [
            models.CheckConstraint(condition=models.Q(used_kb__gte=0), name="bundle_used_not_negative")
        ]

    def __str__(self) -> str:
        return self.id

    def to_domain(self) -> Bundle:
        return Bundle(
            id=self.id,
            line_id=self.line_id,
            plan_id=self.plan_id,
            data_kb=self.data_kb,
            used_kb=self.used_kb,
            fair_use_kb=self.fair_use_kb,
            validity_days=self.validity_days,
            purchased_at=self.purchased_at,
            starts_at=self.starts_at,
            expires_at=self.expires_at,
            status=BundleStatus(self.status),
        )

    @classmethod
    def from_domain(cls, bundle: Bundle, order_id: str = "") -> BundleRecord:
        return cls(
            id=bundle.id,
            line_id=bundle.line_id,
            plan_id=bundle.plan_id,
            order_id=order_id,
            data_kb=bundle.data_kb,
            used_kb=bundle.used_kb,
            fair_use_kb=bundle.fair_use_kb,
            validity_days=bundle.validity_days,
            purchased_at=bundle.purchased_at,
            starts_at=bundle.starts_at,
            expires_at=bundle.expires_at,
            status=bundle.status.value,
        )


class UsageRow(models.Model):
    """A usage record, kept by its id so that each one is rated exactly once."""

    id = models.CharField(primary_key=True, max_length=120)
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="+")
    kb = models.BigIntegerField()
    start = models.DateTimeField()
    end = models.DateTimeField()
    drawn_kb = models.BigIntegerField(default=0)
    charged_minor = models.BigIntegerField(default=0)
    refused_kb = models.BigIntegerField(default=0)
    rated_at = models.DateTimeField()

    class Meta:
        db_table = "usage_record"

    def __str__(self) -> str:
        return self.id
