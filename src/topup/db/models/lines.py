"""Hosted lines (our eSIM data network): the line with its profile state history, bundles and usage."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from topup.db.fields import BlindIndexField, EncryptedTextField, PersonalManager
from topup.domain.bundles import Bundle, BundleStatus


class Line(models.Model):
    """One subscription on a hosted network: an eSIM profile (ICCID) and the balances we keep for it."""

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    network = models.ForeignKey(
        "topup.NetworkRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("network")
    )
    # Unique among live lines; an archived line (its ICCID recycled by the SM-DP+) keeps `<iccid>~<id>`.
    iccid = models.CharField(max_length=64, unique=True, verbose_name=_("ICCID"))
    msisdn = EncryptedTextField(null=True, blank=True, verbose_name=_("number"))
    msisdn_index = BlindIndexField(
        source="msisdn", null=True, blank=True, unique=True, verbose_name=_("msisdn index")
    )
    objects = PersonalManager()
    eid = EncryptedTextField(blank=True, default="", verbose_name=_("EID"))  # the device's id: personal
    matching_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("matching id"))
    smdp_address = models.CharField(max_length=120, blank=True, default="", verbose_name=_("SM-DP+ address"))
    profile_state = models.CharField(max_length=20, default="released", verbose_name=_("profile state"))
    credit_minor = models.BigIntegerField(default=0, verbose_name=_("credit"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    language = models.CharField(max_length=10, default="en", verbose_name=_("language"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    # A former life of a recycled ICCID
    archived_at = models.DateTimeField(null=True, blank=True, verbose_name=_("archived at"))
    archived_iccid = models.CharField(max_length=22, blank=True, default="", verbose_name=_("archived iccid"))

    class Meta:
        db_table = "line"
        constraints = [
            models.CheckConstraint(condition=models.Q(credit_minor__gte=0), name="line_credit_not_negative")
        ]
        verbose_name = _("line")
        verbose_name_plural = _("lines")

    def __str__(self) -> str:
        return self.iccid

    @property
    def activation_code(self) -> str:
        return f"LPA:1${self.smdp_address}${self.matching_id}"


class LineEvent(models.Model):
    """A profile state change or another event of a line (thresholds, expiry), for agents and alerts."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="events", verbose_name=_("line"))
    # Profile | bundle_threshold | bundle_expired | usage_refused
    kind = models.CharField(max_length=30, verbose_name=_("kind"))
    state = models.CharField(max_length=30, blank=True, default="", verbose_name=_("state"))
    code = models.CharField(max_length=60, blank=True, default="", verbose_name=_("code"))
    detail = EncryptedTextField(blank=True, default="", verbose_name=_("detail"))
    # Dedupes notifications
    source_ref = models.CharField(
        max_length=120, null=True, blank=True, unique=True, verbose_name=_("source ref")
    )
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        db_table = "line_event"
        ordering = ["at", "id"]
        verbose_name = _("line event")
        verbose_name_plural = _("line events")

    def __str__(self) -> str:
        return f"{self.line_id} {self.kind} {self.state}"


class BundleRecord(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="bundles", verbose_name=_("line"))
    plan = models.ForeignKey(
        "topup.PlanRecord", on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    order_id = models.CharField(max_length=40, blank=True, default="", verbose_name=_("order"))
    data_kb = models.BigIntegerField(null=True, blank=True, verbose_name=_("data (kB)"))
    used_kb = models.BigIntegerField(default=0, verbose_name=_("used (kB)"))
    fair_use_kb = models.BigIntegerField(null=True, blank=True, verbose_name=_("fair use (kB)"))
    validity_days = models.PositiveIntegerField(verbose_name=_("validity days"))
    purchased_at = models.DateTimeField(verbose_name=_("purchased at"))
    starts_at = models.DateTimeField(null=True, blank=True, verbose_name=_("starts at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    status = models.CharField(max_length=12, verbose_name=_("status"))
    # Recorded at expiry, never lost
    expired_remaining_kb = models.BigIntegerField(
        null=True, blank=True, verbose_name=_("left at expiry (kB)")
    )

    class Meta:
        db_table = "bundle"
        indexes = [models.Index(fields=["status", "expires_at"], name="bundle_expiry")]
        constraints = [
            models.CheckConstraint(condition=models.Q(used_kb__gte=0), name="bundle_used_not_negative")
        ]
        verbose_name = _("bundle")
        verbose_name_plural = _("bundles")

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
    # No database constraint: its check is one lookup per inserted row at commit, most of a 10,000-record
    # batch's commit on PostgreSQL. The service resolves every record's line before it writes, and lines
    # are never deleted (PROTECT still refuses it through the ORM).
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="+", db_constraint=False)
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
