"""Back-office pages for lines with their profile history, orders with theirs, and payments.

Orders and payments record money: they cannot be added, edited or deleted here (orders move only through the
services); the one exception is a payment waiting for a manual payout, whose reference staff record.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from topup.db.admin.base import ReadOnlyAdmin, ReadOnlyInline, money_text
from topup.db.admin.words import CHANNELS, ORDER_STATUSES, PAYMENT_STATUSES
from topup.db.models import BundleRecord, BundleReminder, Line, LineEvent, Order, OrderEvent, Payment


class LineEventInline(ReadOnlyInline):
    model = LineEvent
    fields = ("at", "kind", "state", "code", "detail")
    ordering = ("at", "id")
    verbose_name_plural = _("profile state history")


class BundleInline(ReadOnlyInline):
    model = BundleRecord
    fields = ("id", "plan", "status", "data_kb", "used_kb", "starts_at", "expires_at", "order_id")
    ordering = ("purchased_at",)


class BundleReminderInline(ReadOnlyInline):
    """Each reminder a bundle earned, and whether it went (or why not: dropped, off)."""

    model = BundleReminder
    fields = ("kind", "bundle", "status", "due_at", "sent_at", "note")
    ordering = ("due_at", "id")


@admin.register(Line)
class LineAdmin(ReadOnlyAdmin):
    list_display = (
        "iccid",
        "profile_state",
        "network",
        "msisdn",
        "credit_minor_money",
        "created_at",
        "archived_at",
    )
    list_filter = ("profile_state", "network")
    search_fields = ("iccid", "archived_iccid")
    number_fields = ("msisdn",)
    money_fields = {"credit_minor": "currency"}
    list_select_related = ("network",)
    ordering = ("-created_at",)
    inlines = (LineEventInline, BundleInline, BundleReminderInline)


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("at", "from_status", "to_status", "code", "detail")
    ordering = ("at", "id")
    verbose_name_plural = _("history")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("id", "provider", "method", "status", "amount", "refunded", "failure_code", "refund_status")
    readonly_fields = ("amount", "refunded")

    @admin.display(description=_("amount"))
    def amount(self, obj: Payment) -> str:
        return money_text(obj.amount_minor, obj.currency)

    @admin.display(description=_("refunded"))
    def refunded(self, obj: Payment) -> str:
        return money_text(obj.refunded_minor, obj.currency)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "status",
        "channel",
        "network",
        "msisdn",
        "order_iccid",
        "total_minor_money",
        "created_at",
    )
    list_filter = ("status", "network", "channel")
    words = {"status": ORDER_STATUSES, "channel": CHANNELS}
    search_fields = ("id", "iccid", "line__iccid")
    number_fields = ("msisdn",)
    money_fields = {"total_minor": "currency"}
    hidden_fields = ("quote", "token_hash", "eid")
    list_select_related = ("network", "line")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    inlines = (OrderEventInline, PaymentInline)

    @admin.display(description="ICCID")
    def order_iccid(self, obj: Order) -> str:
        return obj.line.iccid if obj.line is not None else obj.iccid


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    """Status `needs_review`: a signed webhook reported another amount or currency; the order was not paid.
    If the money did arrive, "Refund what was received" (or `topup payments refund-review PAY_ID`).

    Refund status `payout_needed`: the provider could not refund (Alipay, WeChat Pay): pay the customer back
    another way, then open the payment, enter the transfer's reference as "payout reference" and save
    (or `topup payments payout-done PAY_ID --reference ...`): the ledger and the order follow."""

    list_display = (
        "id",
        "order",
        "provider",
        "method",
        "status",
        "amount_minor_money",
        "refunded_minor_money",
        "refund_status",
        "review",
        "created_at",
    )
    list_filter = ("status", "refund_status", "provider", "method", "currency")
    words = {"status": PAYMENT_STATUSES}
    search_fields = ("id", "order__id", "provider_ref")
    number_fields = ("order__msisdn",)
    money_fields = {
        "amount_minor": "currency",
        "refunded_minor": "currency",
        "received_minor": "received_currency",
    }
    hidden_fields = ("qr_data",)
    ordering = ("-created_at",)
    actions = ("refund_received",)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("topup.change_payment"))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """Only to record a manual payout: a payment waiting for one, by staff who may change payments."""
        waiting = isinstance(obj, Payment) and obj.refund_status == "payout_needed"
        return waiting and bool(request.user.has_perm("topup.change_payment"))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        return [name for name in self.get_fields(request, obj) if name != "payout_reference"]

    def save_model(self, request: HttpRequest, obj: Payment, form: object, change: bool) -> None:
        from topup.domain.errors import DomainError  # noqa: PLC0415 - admin stays import-light
        from topup.services.refunds import payout_done  # noqa: PLC0415

        try:
            self.message_user(request, f"{obj.id}: {payout_done(obj.id, obj.payout_reference)}")
        except DomainError as exc:  # no reference given: nothing recorded
            self.message_user(request, f"{obj.id}: {exc.code}", level=messages.ERROR)

    @admin.display(description=_("review"))
    def review(self, obj: Payment) -> str:
        if not obj.review_code:
            return ""
        received = money_text(obj.received_minor or 0, obj.received_currency or obj.currency)
        return gettext("%(code)s: received %(amount)s") % {"code": obj.review_code, "amount": received}

    @admin.action(description=_("Refund what was received (payments under review)"), permissions=("refund",))
    def refund_received(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        from topup.services.payments import refund_under_review  # noqa: PLC0415 - admin stays import-light

        for payment in queryset:
            self.message_user(request, f"{payment.id}: {refund_under_review(payment.id)}")
