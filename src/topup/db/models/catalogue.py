"""Networks and plans as stored rows; `to_domain()` gives the pure values the rules work on."""

from __future__ import annotations

from django.db import models

from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.money import Money


class NetworkRecord(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in NetworkKind])
    commission_bp = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "network"

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
    id = models.CharField(primary_key=True, max_length=60)
    network = models.ForeignKey(NetworkRecord, on_delete=models.PROTECT, related_name="plans")
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in PlanKind])
    name = models.CharField(max_length=80)
    code = models.CharField(max_length=20, blank=True, default="")
    price_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    data_mb = models.PositiveIntegerField(null=True, blank=True)
    unlimited = models.BooleanField(default=False)
    validity_days = models.PositiveIntegerField(null=True, blank=True)
    fair_use_mb = models.PositiveIntegerField(null=True, blank=True)
    bundle_start = models.CharField(max_length=16, default="on_purchase")  # or on_first_use
    topup_rule = models.CharField(max_length=10, default="stack")  # or extend
    overage = models.CharField(
        max_length=16, default="refuse"
    )  # data beyond the bundles: refuse | charge_credit
    overage_price_per_mb_minor = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "plan"
        ordering = ["network_id", "sort_order", "price_minor"]

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

    route = models.CharField(max_length=40)
    plan = models.ForeignKey(PlanRecord, on_delete=models.CASCADE, related_name="carrier_products")
    product_ref = models.CharField(max_length=60)

    class Meta:
        db_table = "carrier_product"
        constraints = [models.UniqueConstraint(fields=["route", "plan"], name="carrier_product_once")]

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
