"""CSV exports for staff, streamed row by row (`StreamingHttpResponse`, the database read in chunks).

Each export needs its view permission; numbers are masked unless the user has `topup.see_numbers`; a cell
that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) is prefixed with
an apostrophe; times are ISO 8601 in UTC; amounts are decimals with their currency in the next column.
`?since=YYYY-MM-DD&until=YYYY-MM-DD` (UTC days, both included) narrows an export to a period.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from topup.clock import now
from topup.db.admin.base import SEE_NUMBERS, number_shown
from topup.db.models import Order, Payment, Voucher
from topup.domain.money import MINOR_DIGITS, Money

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
CHUNK: Final = 1000


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime | None
    until: datetime | None  # exclusive


@dataclass(frozen=True, slots=True)
class Export:
    label: Promise
    permission: str
    header: tuple[str, ...]
    rows: Callable[[Period, bool], Iterable[Sequence[object]]]  # (period, full numbers) -> rows

    def allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(self.permission))


def cell(value: object) -> str:
    """One CSV cell: times in ISO 8601 UTC, None empty, formula-looking text defused with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def amount(amount_minor: int | None, currency: str) -> str:
    """Minor units as a plain decimal ("10.00"), the way a spreadsheet or an accounting import reads it."""
    if amount_minor is None:
        return ""
    if currency not in MINOR_DIGITS:
        return str(amount_minor)
    return str(Money(int(amount_minor), currency).as_decimal())


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
}


class _Echo:
    """A file-like object for csv.writer that hands each written line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def period_of(request: HttpRequest) -> Period:
    """The period asked with `since` / `until` (UTC days, both included); ValueError for a bad date."""
    since, until = _day(request.GET.get("since")), _day(request.GET.get("until"))
    return Period(
        since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None,
    )


def stream_csv(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> StreamingHttpResponse:
    """A CSV download streamed as it is written (UTF-8 with a BOM, so spreadsheets read Chinese right)."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{now():%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store"  # personal data: never kept by a proxy or the browser's cache
    return response


def export(request: HttpRequest, kind: str) -> HttpResponseBase:
    spec = EXPORTS.get(kind) or extra_exports().get(kind)
    if spec is None:
        raise Http404
    if not spec.allowed(request):
        raise PermissionDenied
    try:
        period = period_of(request)
    except ValueError:
        return HttpResponseBadRequest(gettext("Dates are written YYYY-MM-DD."))
    full = bool(request.user.has_perm(SEE_NUMBERS))
    return stream_csv(kind, spec.header, spec.rows(period, full))


def extra_exports() -> dict[str, Export]:
    """Exports of other parts (retail), registered when they exist."""
    return {}
