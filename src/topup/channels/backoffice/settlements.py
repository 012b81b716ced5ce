"""The settlement page: each retailer's statement for a period (sales, voids, refunds, commission, float
top-ups, opening and closing float, and the check that the ledger agrees), with the same as CSV."""

from __future__ import annotations

from datetime import date

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext

from topup.clock import BRUSSELS, now
from topup.db.admin.base import money_text
from topup.db.models import Retailer
from topup.domain.settlements import Statement
from topup.services import settlements


def _period(request: HttpRequest) -> tuple[date, date]:
    """The days asked (`since`, `until`), by default this month so far; a bad date is the default."""
    today = now().astimezone(BRUSSELS).date()
    try:
        last = date.fromisoformat(request.GET.get("until") or today.isoformat())
        first = date.fromisoformat(request.GET.get("since") or last.replace(day=1).isoformat())
    except ValueError:
        return today.replace(day=1), today
    return (first, last) if first <= last else (last, first)


def _row(s: Statement) -> dict[str, object]:
    def shown(amount_minor: int) -> str:
        return money_text(amount_minor, s.currency)

    return {
        "retailer": s.retailer_name, "retailer_id": s.retailer_id, "opening": shown(s.opening_minor),
        "sales": shown(s.sales_minor), "sales_count": s.sales_count,
        "voids": shown(s.voids.price_minor), "voids_count": s.voids.count,
        "refunds": shown(s.refunds.price_minor), "refunds_count": s.refunds.count,
        "commission": shown(s.net_commission_minor), "topups": shown(s.topups_minor),
        "topups_count": s.topups_count, "closing": shown(s.closing_minor),
        "difference": shown(s.difference_minor), "agrees": s.difference_minor == 0,
    }  # fmt: skip


def settlement(request: HttpRequest) -> HttpResponse:
    """Staff who may view retailers see their statements; others get 403."""
    if not request.user.has_perm("topup.view_retailer"):
        raise PermissionDenied
    first, last = _period(request)
    retailer_id = request.GET.get("retailer", "")
    rows = [_row(s) for s in settlements.statements(first, last, retailer_id=retailer_id)]
    query = urlencode({"since": first.isoformat(), "until": last.isoformat(), "retailer": retailer_id})
    context = {
        **admin.site.each_context(request),
        "title": gettext("Retailer settlements"),
        "rows": rows,
        "since": first.isoformat(),
        "until": last.isoformat(),
        "retailer_id": retailer_id,
        "retailers": Retailer.objects.order_by("name").values_list("id", "name"),
        "csv_url": reverse("admin:backoffice-settlement-csv") + "?" + query,
    }
    return TemplateResponse(request, "backoffice/settlements.html", context)


def settlement_csv(request: HttpRequest) -> HttpResponseBase:
    """The statements of the page, as CSV (amounts as decimals, one row per retailer)."""
    from topup.channels.backoffice.export_sources import settlement_rows  # noqa: PLC0415
    from topup.channels.backoffice.exports import stream_csv  # noqa: PLC0415

    if not request.user.has_perm("topup.view_retailer"):
        raise PermissionDenied
    first, last = _period(request)
    header, rows = settlement_rows(first, last, retailer_id=request.GET.get("retailer", ""))
    return stream_csv(f"settlements-{first}-{last}", header, rows)
