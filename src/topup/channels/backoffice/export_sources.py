"""What each CSV export holds: its rows read in chunks, amounts as decimals, numbers shown in full only
when asked (the caller checks `topup.see_numbers`), and never a PIN."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any, Final

from django.utils.translation import gettext_lazy as _

from topup.channels.backoffice.cells import amount
from topup.channels.backoffice.exports import Export, Period
from topup.clock import now
from topup.db.admin.base import number_shown
from topup.db.models import Order, Payment, Sale, Voucher
from topup.services import settlements

CHUNK: Final = 1000


def _between(rows: Any, field: str, period: Period) -> Any:
    if period.since is not None:
        rows = rows.filter(**{f"{field}__gte": period.since})
    if period.until is not None:
        rows = rows.filter(**{f"{field}__lt": period.until})
    return rows


def _orders(period: Period, full: bool) -> Iterator[Sequence[object]]:
    rows = _between(Order.objects.order_by("created_at", "id"), "created_at", period).values_list(
        "id", "created_at", "status", "channel", "network_id", "plan_id", "msisdn", "iccid",
        "total_minor", "currency", "failure_code", "updated_at",
    )  # fmt: skip
    for (
        order_id,
        created,
        status,
        channel,
        network,
        plan,
        msisdn,
        iccid,
        total,
        currency,
        failure,
        updated,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (order_id, created, status, channel, network, plan, number_shown(msisdn, full=full), iccid,
               amount(total, currency), currency, failure, updated)  # fmt: skip


def _payments(period: Period, full: bool) -> Iterator[Sequence[object]]:
    rows = _between(Payment.objects.order_by("created_at", "id"), "created_at", period).values_list(
        "id", "order_id", "created_at", "provider", "method", "status", "amount_minor", "refunded_minor",
        "currency", "refund_status", "provider_ref",
    )  # fmt: skip
    for (
        pay_id,
        order_id,
        created,
        provider,
        method,
        status,
        paid,
        refunded,
        currency,
        refund,
        ref,
    ) in rows.iterator(chunk_size=CHUNK):
        yield (pay_id, order_id, created, provider, method, status, amount(paid, currency),
               amount(refunded, currency), currency, refund, ref)  # fmt: skip


def _vouchers(period: Period, full: bool) -> Iterator[Sequence[object]]:
    """Vouchers without their PIN (we keep only its keyed hash, and that is not exported either)."""
    rows = _between(Voucher.objects.order_by("batch_id", "id"), "batch__created_at", period).values_list(
        "id", "batch_id", "plan_id", "state", "expires_at", "activated_at", "redeemed_at", "redeemed_by",
        "channel", "order_id",
    )  # fmt: skip
    for serial, batch, plan, state, expires, activated, redeemed, by, channel, order_id in rows.iterator(
        chunk_size=CHUNK
    ):
        yield (serial, batch, plan, state, expires, activated, redeemed, number_shown(by, full=full), channel,
               order_id)  # fmt: skip


def _sales(period: Period, full: bool) -> Iterator[Sequence[object]]:
    """Shop sales, never with their PIN."""
    rows = _between(Sale.objects.order_by("sold_at", "id"), "sold_at", period).values_list(
        "id", "sold_at", "retailer_id", "terminal_id", "kind", "plan_id", "price_minor", "commission_minor",
        "currency", "tender", "status", "ended_at", "order_id", "voucher_id",
    )  # fmt: skip
    for sale_id, sold, shop, till, kind, plan, price, commission, currency, *rest in rows.iterator(CHUNK):
        yield (sale_id, sold, shop, till, kind, plan, amount(price, currency), amount(commission, currency),
               currency, *rest)  # fmt: skip


SETTLEMENT_HEADER: Final = (
    "retailer", "name", "currency", "sales_count", "voids_count", "refunds_count", "topups_count",
    "opening_float", "sales", "voids", "refunds", "commission", "topups", "closing_float", "difference",
)  # fmt: skip


def settlement_rows(
    first: date, last: date, *, retailer_id: str = ""
) -> tuple[Sequence[str], Iterator[Sequence[object]]]:
    """One statement per retailer (or one) for the Brussels days `first`..`last`, as CSV rows."""

    def rows() -> Iterator[Sequence[object]]:
        for s in settlements.statements(first, last, retailer_id=retailer_id):
            figures = (
                s.opening_minor, s.sales_minor, s.voids.price_minor, s.refunds.price_minor,
                s.net_commission_minor, s.topups_minor, s.closing_minor, s.difference_minor,
            )  # fmt: skip
            yield (
                s.retailer_id, s.retailer_name, s.currency, s.sales_count, s.voids.count, s.refunds.count,
                s.topups_count, *(amount(value, s.currency) for value in figures),
            )  # fmt: skip

    return SETTLEMENT_HEADER, rows()


def _settlements(period: Period, full: bool) -> Iterator[Sequence[object]]:
    """Without a period, the last 30 days."""
    last = period.last or now().date()
    return settlement_rows(period.first or last - timedelta(days=29), last)[1]


EXPORTS: dict[str, Export] = {
    "orders": Export(
        _("Orders"),
        "topup.view_order",
        (
            "id",
            "created_at",
            "status",
            "channel",
            "network",
            "plan",
            "msisdn",
            "iccid",
            "total",
            "currency",
            "failure_code",
            "updated_at",
        ),
        _orders,
    ),
    "payments": Export(
        _("Payments"),
        "topup.view_payment",
        (
            "id",
            "order",
            "created_at",
            "provider",
            "method",
            "status",
            "amount",
            "refunded",
            "currency",
            "refund_status",
            "provider_ref",
        ),
        _payments,
    ),
    "vouchers": Export(
        _("Vouchers (without PINs)"),
        "topup.view_voucher",
        (
            "id",
            "batch",
            "plan",
            "state",
            "expires_at",
            "activated_at",
            "redeemed_at",
            "redeemed_by",
            "channel",
            "order",
        ),
        _vouchers,
    ),
    "sales": Export(
        _("Shop sales"),
        "topup.view_sale",
        (
            "id",
            "sold_at",
            "retailer",
            "terminal",
            "kind",
            "plan",
            "price",
            "commission",
            "currency",
            "tender",
            "status",
            "ended_at",
            "order",
            "voucher",
        ),
        _sales,
    ),
    "settlements": Export(
        _("Retailer settlements"),
        "topup.view_retailer",
        SETTLEMENT_HEADER,
        _settlements,
    ),
}
