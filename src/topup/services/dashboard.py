"""The figures of the staff dashboard, each one aggregate query: sales per channel, network and day, the
delivery success rate and latency (paid -> delivered, p50 and p95), and the float left per retailer.

Sums, counts and percentiles are computed by the database (SQLite and PostgreSQL alike); Python only
fills the days without sales. A sale is an order that took money and kept it: paid, delivering, delivered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate

from topup.clock import BRUSSELS
from topup.db.models import Order, OrderEvent
from topup.domain.orders import OrderStatus
from topup.services import settlements

SOLD = (OrderStatus.PAID.value, OrderStatus.DELIVERING.value, OrderStatus.DELIVERED.value)


@dataclass(frozen=True, slots=True)
class Total:
    """Sales (or a float) of one key: a channel, a network id, a day, a retailer."""

    key: str
    label: str
    count: int
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Delivery:
    delivered: int
    failed: int
    p50_ms: int | None
    p95_ms: int | None

    @property
    def success_bp(self) -> int | None:
        """Delivered among delivered and failed, in basis points (None before any outcome)."""
        done = self.delivered + self.failed
        return None if done == 0 else self.delivered * 10_000 // done


@dataclass(frozen=True, slots=True)
class Dashboard:
    since: datetime
    until: datetime
    by_channel: list[Total]
    by_network: list[Total]
    by_day: list[Total]
    delivery: Delivery
    floats: list[Total] = field(default_factory=list)


def build(until: datetime, *, days: int = 30) -> Dashboard:
    """The dashboard for the `days` Brussels days up to and including `until`'s."""
    first_day = until.astimezone(BRUSSELS).date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=BRUSSELS)
    sales = Order.objects.filter(status__in=SOLD, created_at__gte=since, created_at__lte=until)
    return Dashboard(
        since=since,
        until=until,
        by_channel=_grouped(sales, "channel", "channel"),
        by_network=_grouped(sales, "network_id", "network__name"),
        by_day=_per_day(sales, first_day, days),
        delivery=delivery(since, until),
        floats=retailer_floats(),
    )


def _grouped(sales: QuerySet[Order], key: str, label: str) -> list[Total]:
    rows = (
        sales.values(key, label, "currency")
        .annotate(count=Count("id"), amount=Sum("total_minor"))
        .order_by("-amount", key)
    )
    return [Total(str(r[key]), str(r[label]), r["count"], r["amount"] or 0, r["currency"]) for r in rows]


def _per_day(sales: QuerySet[Order], first_day: date, days: int) -> list[Total]:
    rows = (
        sales.filter(currency="EUR")
        .annotate(day=TruncDate("created_at", tzinfo=BRUSSELS))
        .values("day")
        .annotate(count=Count("id"), amount=Sum("total_minor"))
    )
    found = {r["day"]: (r["count"], r["amount"] or 0) for r in rows}
    every_day = (first_day + timedelta(days=n) for n in range(days))
    return [Total(d.isoformat(), d.isoformat(), *found.get(d, (0, 0)), "EUR") for d in every_day]


def delivery(since: datetime, until: datetime) -> Delivery:
    """Outcomes of deliveries that ended in the window, and how long a delivered order waited after `paid`."""
    ended = OrderEvent.objects.filter(at__gte=since, at__lte=until)
    outcomes = ended.filter(
        to_status__in=(OrderStatus.DELIVERED.value, OrderStatus.DELIVERY_FAILED.value)
    ).aggregate(
        delivered=Count("order_id", distinct=True, filter=_status(OrderStatus.DELIVERED)),
        failed=Count("order_id", distinct=True, filter=_status(OrderStatus.DELIVERY_FAILED)),
    )
    paid_at = OrderEvent.objects.filter(order_id=OuterRef("order_id"), to_status=OrderStatus.PAID.value)
    latencies = (
        ended.filter(to_status=OrderStatus.DELIVERED.value)
        .annotate(paid_at=Subquery(paid_at.order_by("at").values("at")[:1]))
        .exclude(paid_at=None)
        .annotate(latency=ExpressionWrapper(F("at") - F("paid_at"), output_field=DurationField()))
        .order_by("latency")
        .values_list("latency", flat=True)
    )
    count = latencies.count()
    return Delivery(
        delivered=outcomes["delivered"],
        failed=outcomes["failed"],
        p50_ms=_percentile_ms(latencies, count, 0.50),
        p95_ms=_percentile_ms(latencies, count, 0.95),
    )


def _status(status: OrderStatus) -> Q:
    return Q(to_status=status.value)


def _percentile_ms(ordered: QuerySet[OrderEvent, timedelta], count: int, share: float) -> int | None:
    """The nearest-rank percentile: one row fetched at its offset, never the whole column."""
    if count == 0:
        return None
    value = ordered[max(math.ceil(share * count) - 1, 0)]
    return int(value.total_seconds() * 1000)


def retailer_floats() -> list[Total]:
    """The float left per retailer (the retailer row, which the ledger's float account mirrors)."""
    return [
        Total(rid, name, 1, left, currency) for rid, name, left, currency in settlements.retailer_floats()
    ]
