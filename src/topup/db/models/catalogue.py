"""Networks and plans as stored rows; `to_domain()` gives the pure values the rules work on."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.money import Money


class NetworkRecord(models.Model):
    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))
    name = models.CharField(max_length=80, verbose_name=_("name"))
    kind = models.CharField(
        max_length=16, choices=[(k.value, k.value) for k in NetworkKind], verbose_name=_("kind")
    )
    commission_bp = models.PositiveIntegerField(default=0, verbose_name=_("commission (basis points)"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        db_table = "network"
        verbose_name = _("network")
        verbose_name_plural = _("networks")

    def __str__(self) -> str:
        return self.name

    def to_domain(self) -> Network:
        return Network(
            id=self.id,
            name=self.name,
            kind=NetworkKind(self.kind),
            commission_bp=self.commission_bp,
            currency=self.currency,
        )


class PlanRecord(models.Model):
    id = models.CharField(primary_key=True, max_length=60, verbose_name=_("ID"))
    network = models.ForeignKey(
        NetworkRecord, on_delete=models.PROTECT, related_name="plans", verbose_name=_("network")
    )
    kind = models.CharField(
        max_length=16, choices=[(k.value, k.value) for k in PlanKind], verbose_name=_("kind")
    )
    name = models.CharField(max_length=80, verbose_name=_("name"))
    code = models.CharField(max_length=20, blank=True, default="", verbose_name=_("code"))
    price_minor = models.PositiveIntegerField(verbose_name=_("price"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("currency"))
    data_mb = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("data (MB)"))
    unlimited = models.BooleanField(default=False, verbose_name=_("unlimited"))
    validity_days = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("validity days"))
    fair_use_mb = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("fair use (MB)"))
    # Or on_first_use
    bundle_start = models.CharField(max_length=16, default="on_purchase", verbose_name=_("bundle start"))
    topup_rule = models.CharField(max_length=10, default="stack", verbose_name=_("topup rule"))  # or extend
    overage = models.CharField(
        max_length=16, default="refuse", verbose_name=_("overage")
    )  # data beyond the bundles: refuse | charge_credit
    overage_price_per_mb_minor = models.PositiveIntegerField(
        default=0, verbose_name=_("overage price per MB")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    sort_order = models.PositiveIntegerField(default=0, verbose_name=_("sort order"))

    class Meta:
        db_table = "plan"
        ordering = ["network_id", "sort_order", "price_minor"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.name

    def to_domain(self) -> Plan:
        return Plan(
            id=self.id,
            network_id=self.network_id,
            kind=PlanKind(self.kind),
            name=self.name,
            price=Money(self.price_minor, self.currency),
            data_mb=self.data_mb,
            unlimited=self.unlimited,
            validity_days=self.validity_days,
            fair_use_mb=self.fair_use_mb,
            code=self.code,
            active=self.active,
        )


class CarrierProductRecord(models.Model):
    """Which product of a carrier route a plan is: a bundle is activated as this product, never credited.

    `route` is a carrier route of `topup.wiring` (gateway, dtone, ...): the same plan may be a different
    product id at a network's own gateway and at an aggregator.
    """

    route = models.CharField(max_length=40, verbose_name=_("route"))
    plan = models.ForeignKey(
        PlanRecord, on_delete=models.CASCADE, related_name="carrier_products", verbose_name=_("plan")
    )
    product_ref = models.CharField(max_length=60, verbose_name=_("carrier product"))

    class Meta:
        db_table = "carrier_product"
        constraints = [models.UniqueConstraint(fields=["route", "plan"], name="carrier_product_once")]
        verbose_name = _("carrier product")
        verbose_name_plural = _("carrier products")

    def __str__(self) -> str:
        return f"{self.route}:{self.product_ref}"


class CarrierFloatRecord(models.Model):
    """The last reading of a carrier route's prepaid float (an aggregator's balance), for /metrics.

    The worker's float sweep writes it; the web process shows it, so the gauge is the same in every process.
    """

    route = models.CharField(primary_key=True, max_length=40)
    available_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    alert_below_minor = models.BigIntegerField()
    read_at = models.DateTimeField()

    class Meta:
        db_table = "carrier_float"

    def __str__(self) -> str:
        return f"{self.route}: {self.available_minor} {self.currency}"
