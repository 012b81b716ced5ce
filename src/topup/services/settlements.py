"""Retailer statements (settlements) for a period, every figure one grouped aggregate query.

The float at a moment is read from the ledger (the retailer's float account: credits minus debits of posted
transfers before it), the movements from the shop's rows, so a statement also checks the two against each
other (`Statement.difference_minor`). Periods are Brussels days, both ends included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum

from topup.clock import BRUSSELS
from topup.db.models import FloatTopUp, Retailer, Sale, Transfer
from topup.domain import ledger as accounts
from topup.domain.retail import SaleStatus
from topup.domain.settlements import Reversals, Statement


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BRUSSELS)


def statements(first_day: date, last_day: date, *, retailer_id: str = "") -> list[Statement]:
    """One statement per retailer (or for `retailer_id` only) for the days `first_day`..`last_day`."""
    since, until = day_start(first_day), day_start(last_day + timedelta(days=1))
    shops = Retailer.objects.order_by("name", "id")
    if retailer_id:
        shops = shops.filter(id=retailer_id)
    retailers = list(shops.values_list("id", "name", "currency"))
    float_of = {accounts.retailer_float(rid, currency).id: rid for rid, _name, currency in retailers}
    opening, closing = _floats(float_of, since), _floats(float_of, until)
    sold = _by_retailer(Sale.objects.filter(sold_at__gte=since, sold_at__lt=until), _sale_sums())
    ended = Sale.objects.filter(ended_at__gte=since, ended_at__lt=until)
    voided = _by_retailer(ended.filter(status=SaleStatus.VOIDED.value), _sale_sums())
    refunded = _by_retailer(ended.filter(status=SaleStatus.REFUNDED.value), _sale_sums())
    topups = _by_retailer(
        FloatTopUp.objects.filter(at__gte=since, at__lt=until),
        {"count": Count("id"), "amount": Sum("amount_minor")},
    )
    return [
        Statement(
            retailer_id=rid, retailer_name=name, currency=currency,
            opening_minor=opening.get(rid, 0),
            sales_count=sold.get(rid, {}).get("count", 0), sales_minor=_sum(sold, rid, "price"),
            commission_minor=_sum(sold, rid, "commission"),
            voids=_reversals(voided, rid), refunds=_reversals(refunded, rid),
            topups_count=topups.get(rid, {}).get("count", 0), topups_minor=_sum(topups, rid, "amount"),
            closing_minor=closing.get(rid, 0),
        )
        for rid, name, currency in retailers
    ]  # fmt: skip


def _sale_sums() -> dict[str, Any]:
    return {"count": Count("id"), "price": Sum("price_minor"), "commission": Sum("commission_minor")}


def _by_retailer(rows: QuerySet[Any], sums: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {row.pop("retailer_id"): row for row in rows.values("retailer_id").annotate(**sums).order_by()}


def _sum(found: dict[str, dict[str, int]], retailer_id: str, key: str) -> int:
    return int(found.get(retailer_id, {}).get(key) or 0)


def _reversals(found: dict[str, dict[str, int]], retailer_id: str) -> Reversals:
    return Reversals(
        count=int(found.get(retailer_id, {}).get("count") or 0),
        price_minor=_sum(found, retailer_id, "price"),
        commission_minor=_sum(found, retailer_id, "commission"),
    )


def _floats(float_of: dict[str, str], before: datetime) -> dict[str, int]:
    """Each retailer's float (a liability: credits - debits) from the transfers posted before `before`."""
    posted = Transfer.objects.filter(status="posted", created_at__lt=before)
    ids = list(float_of)
    credits = _totals(posted.filter(credit_account_id__in=ids), "credit_account_id")
    debits = _totals(posted.filter(debit_account_id__in=ids), "debit_account_id")
    return {float_of[acct]: credits.get(acct, 0) - debits.get(acct, 0) for acct in ids}


def _totals(rows: QuerySet[Transfer], account: str) -> dict[str, int]:
    grouped = rows.values(account).annotate(total=Sum("amount_minor")).order_by()
    return {row[account]: int(row["total"] or 0) for row in grouped}


def retailer_floats() -> Iterable[tuple[str, str, int, str]]:
    """(id, name, float left, currency) of each active retailer, the lowest float first."""
    return (
        Retailer.objects.filter(active=True)
        .order_by("float_minor", "name")
        .values_list("id", "name", "float_minor", "currency")
    )
