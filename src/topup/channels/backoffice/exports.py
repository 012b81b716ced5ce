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

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.functional import Promise
from django.utils.translation import gettext

from topup.channels.backoffice.cells import cell
from topup.clock import now
from topup.db.admin.base import SEE_NUMBERS


@dataclass(frozen=True, slots=True)
class Period:
    """UTC days, both included; None for an open end."""

    first: date | None
    last: date | None

    @property
    def since(self) -> datetime | None:
        return datetime.combine(self.first, time.min, tzinfo=UTC) if self.first else None

    @property
    def until(self) -> datetime | None:  # exclusive
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=UTC) if self.last else None


@dataclass(frozen=True, slots=True)
class Export:
    label: Promise
    permission: str
    header: tuple[str, ...]
    rows: Callable[[Period, bool], Iterable[Sequence[object]]]  # (period, full numbers) -> rows

    def allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(self.permission))


class _Echo:
    """A file-like object for csv.writer that hands each written line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def period_of(request: HttpRequest) -> Period:
    """The period asked with `since` / `until` (UTC days, both included); ValueError for a bad date."""
    return Period(_day(request.GET.get("since")), _day(request.GET.get("until")))


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
    from topup.channels.backoffice.export_sources import EXPORTS  # noqa: PLC0415 - they import this module

    spec = EXPORTS.get(kind)
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
