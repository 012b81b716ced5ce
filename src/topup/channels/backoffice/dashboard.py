"""The staff dashboard: sales per channel, network and day over the last 30 days, delivery success and
latency, and the float left per retailer, drawn as server-side SVG charts with the figures in tables."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from topup.channels.backoffice.charts import Datum, bar_chart, line_chart
from topup.clock import now
from topup.db.admin.base import money_text, staff_locale
from topup.db.admin.words import CHANNELS, word
from topup.services import dashboard as figures

NONE: Final = "\u2013"  # an en dash where there is no figure yet


def dashboard(request: HttpRequest) -> HttpResponse:
    """Staff who may view orders see the dashboard; others get 403 (the site already asks for staff)."""
    if not request.user.has_perm("topup.view_order"):
        raise PermissionDenied
    data = figures.build(now())
    context = {
        **admin.site.each_context(request),
        "title": gettext("Dashboard"),
        "data": data,
        "first_day": data.by_day[0].key,  # Brussels days, as the figures count them
        "last_day": data.by_day[-1].key,
        "charts": _charts(data),
        "channels": [
            (_channel(t.label), money_text(t.amount_minor, t.currency), t.count) for t in data.by_channel
        ],
        "networks": [(t.label, money_text(t.amount_minor, t.currency), t.count) for t in data.by_network],
        "floats": [(t.label, money_text(t.amount_minor, t.currency)) for t in data.floats],
        "success": _percent(data.delivery.success_bp),
        "p50": _seconds(data.delivery.p50_ms),
        "p95": _seconds(data.delivery.p95_ms),
    }
    return TemplateResponse(request, "backoffice/dashboard.html", context)


def _charts(data: figures.Dashboard) -> dict[str, SafeString]:
    empty = gettext("No sales in this period.")
    channel = [
        Datum(str(_channel(t.label)), t.amount_minor, money_text(t.amount_minor, t.currency))
        for t in data.by_channel
    ]
    network = [
        Datum(t.label, t.amount_minor, money_text(t.amount_minor, t.currency)) for t in data.by_network
    ]
    days = [Datum(_day(t.key), t.amount_minor, money_text(t.amount_minor, t.currency)) for t in data.by_day]
    floats = [Datum(t.label, t.amount_minor, money_text(t.amount_minor, t.currency)) for t in data.floats]
    top = max((t.amount_minor for t in data.by_day), default=0)
    charts = {
        "channel": bar_chart("by-channel", gettext("Sales per channel"), channel, empty_text=empty),
        "network": bar_chart("by-network", gettext("Sales per network"), network, empty_text=empty),
        "day": line_chart(
            "by-day",
            gettext("Sales per day"),
            days if top else [],
            empty_text=empty,
            axis_text=_axis(top),
        ),
        "floats": bar_chart(
            "floats", gettext("Float left per retailer"), floats, empty_text=gettext("No retailers.")
        ),
    }
    return {name: mark_safe(svg) for name, svg in charts.items()}  # noqa: S308 - every text in it is escaped


def _channel(key: str) -> str:
    return word(CHANNELS, key)


def _day(iso: str) -> str:
    from datetime import date  # noqa: PLC0415

    return format_skeleton("MMMd", date.fromisoformat(iso), locale=staff_locale())


def _axis(top: int) -> Sequence[str]:
    return [money_text(top * quarter // 4, "EUR") for quarter in range(1, 5)]


def _percent(basis_points: int | None) -> str:
    if basis_points is None:
        return NONE
    return format_percent(Decimal(basis_points) / 10_000, "#,##0.0%", locale=staff_locale())


def _seconds(ms: int | None) -> str:
    if ms is None:
        return NONE
    if ms < 1000:
        return gettext("%(ms)s ms") % {"ms": format_decimal(ms, locale=staff_locale())}
    seconds = format_decimal(Decimal(ms) / 1000, "#,##0.0", locale=staff_locale())
    return gettext("%(seconds)s s") % {"seconds": seconds}
