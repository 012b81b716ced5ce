"""Back-office pages for recharge vouchers and their print runs. Read-only: a PIN exists only in the file
handed to the printer (we keep its keyed hash, never shown); a voucher changes only through the services."""

from __future__ import annotations

from django.contrib import admin

from topup.db.admin.base import ReadOnlyAdmin
from topup.db.models import Voucher, VoucherBatch


@admin.register(VoucherBatch)
class VoucherBatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "network", "plan", "count", "price_minor_money", "created_at", "expires_at", "note")
    list_filter = ("network", "currency")
    search_fields = ("id", "note")
    money_fields = {"price_minor": "currency"}
    list_select_related = ("network", "plan")
    ordering = ("-created_at",)


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    list_display = ("id", "batch", "plan", "state", "expires_at", "redeemed_at", "redeemed_by", "channel")
    list_filter = ("state", "channel", "plan__network")
    search_fields = ("id", "batch__id", "order__id")
    number_fields = ("redeemed_by",)
    hidden_fields = ("pin_hash",)
    list_select_related = ("plan",)
    ordering = ("-expires_at",)
