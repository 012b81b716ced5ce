"""Back-office pages for auto top-ups and their runs: read-only (they change through the services, and the
customer's cancel link or the API)."""

from __future__ import annotations

from django.contrib import admin

from topup.db.admin.base import ReadOnlyAdmin, ReadOnlyInline
from topup.db.models import AutoTopup, AutoTopupRun


class AutoTopupRunInline(ReadOnlyInline):
    model = AutoTopupRun
    fields = ("id", "period_key", "state", "attempts", "failure_code", "order", "amount_minor", "created_at")
    ordering = ("created_at",)


@admin.register(AutoTopup)
class AutoTopupAdmin(ReadOnlyAdmin):
    list_display = (
        "id", "status", "trigger", "period", "plan", "cap_minor_money", "failures", "next_run_at",
        "created_at",
    )  # fmt: skip
    list_filter = ("status", "trigger", "period")
    search_fields = ("id", "origin__id")
    money_fields = {"cap_minor": "currency", "threshold_minor": "currency"}
    hidden_fields = ("cancel_token_hash",)
    list_select_related = ("plan",)
    ordering = ("-created_at",)
    inlines = (AutoTopupRunInline,)
