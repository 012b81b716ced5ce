"""The back office's admin site: its own header and title in the reader's language, and the staff-only
pages Django's admin does not have (dashboard, CSV exports, settlements), each behind `admin_view`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _


class BackOfficeSite(admin.AdminSite):
    site_header = _("Topup back office")
    site_title = _("Topup back office")
    index_title = _("Back office")
    index_template = "backoffice/index.html"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from topup.channels.backoffice import dashboard, exports, settlements  # noqa: PLC0415 - they load models

        ours: list[URLResolver | URLPattern] = [
            path("dashboard/", self.admin_view(dashboard.dashboard), name="backoffice-dashboard"),
            path("exports/<str:kind>.csv", self.admin_view(exports.export), name="backoffice-export"),
            path("settlements/", self.admin_view(settlements.settlement), name="backoffice-settlement"),
            path(
                "settlements.csv",
                self.admin_view(settlements.settlement_csv),
                name="backoffice-settlement-csv",
            ),
        ]
        return ours + super().get_urls()

    def each_context(self, request: Any) -> dict[str, Any]:
        context = super().each_context(request)
        context["backoffice_exports"] = exports_for(request)
        return context


def exports_for(request: Any) -> list[tuple[str, str]]:
    """(kind, label) of the CSV exports this user may download, for the index page."""
    from topup.channels.backoffice.export_sources import EXPORTS  # noqa: PLC0415

    return [(kind, str(spec.label)) for kind, spec in EXPORTS.items() if spec.allowed(request)]
