"""The back office (Django admin) for agents: lines with their profile history, orders with theirs,
payments, the ledger and jobs to look at, and the catalogue (networks and plan prices) to edit.

Everything that records money or history is read-only and cannot be deleted here: orders move only
through the services, and ledger mistakes are fixed with reversing transfers, never by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from topup.db.models import (
    Account,
    BundleRecord,
    CarrierProductRecord,
    Job,
    Line,
    LineEvent,
    NetworkRecord,
    Order,
    OrderEvent,
    Payment,
    PlanRecord,
    Transfer,
)
from topup.domain.money import Money

if TYPE_CHECKING:  # the stubs make these generic; at run time they are plain classes
    ModelAdmin = admin.ModelAdmin[Any]
    TabularInline = admin.TabularInline[Any, Any]
else:
    ModelAdmin = admin.ModelAdmin
    TabularInline = admin.TabularInline


def _money(amount_minor: int, currency: str) -> str:
    return str(Money(amount_minor, currency))


class ReadOnlyAdmin(ModelAdmin):
    """Agents can look but not add, change or delete (view permission is enough to open a row)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class LineEventInline(ReadOnlyInline):
    model = LineEvent
    fields = ("at", "kind", "state", "code", "detail")
    ordering = ("at", "id")
    verbose_name_plural = "profile state history"


class BundleInline(ReadOnlyInline):
    model = BundleRecord
    fields = ("id", "plan", "status", "data_kb", "used_kb", "starts_at", "expires_at", "order_id")
    ordering = ("purchased_at",)


@admin.register(Line)
class LineAdmin(ReadOnlyAdmin):
    list_display = ("iccid", "eid", "profile_state", "network", "msisdn", "created_at", "archived_at")
    list_filter = ("profile_state", "network")
    search_fields = ("iccid", "=msisdn", "archived_iccid")  # the number: exact only, it is encrypted
    list_select_related = ("network",)
    ordering = ("-created_at",)
    inlines = (LineEventInline, BundleInline)


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("at", "from_status", "to_status", "code", "detail")
    ordering = ("at", "id")
    verbose_name_plural = "history"


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = (
        "id",
        "provider",
        "method",
        "status",
        "amount_minor",
        "refunded_minor",
        "currency",
        "failure_code",
        "refund_status",
    )


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "network", "msisdn", "order_iccid", "total", "created_at")
    list_filter = ("status", "network", "channel")
    search_fields = ("id", "=msisdn", "iccid", "line__iccid")
    list_select_related = ("network", "line")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    inlines = (OrderEventInline, PaymentInline)

    @admin.display(description="ICCID")
    def order_iccid(self, obj: Order) -> str:
        return obj.line.iccid if obj.line is not None else obj.iccid

    @admin.display(description="total", ordering="total_minor")
    def total(self, obj: Order) -> str:
        return _money(obj.total_minor, obj.currency)


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
        "amount",
        "refunded",
        "refund_status",
        "review",
        "created_at",
    )
    list_filter = ("status", "refund_status", "provider", "method")
    search_fields = ("id", "order__id", "provider_ref")
    ordering = ("-created_at",)
    actions = ("refund_received",)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("topup.change_payment"))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """Only to record a manual payout: a payment waiting for one, by staff who may change payments."""
        waiting = isinstance(obj, Payment) and obj.refund_status == "payout_needed"
        return waiting and bool(request.user.has_perm("topup.change_payment"))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return tuple(f.name for f in Payment._meta.fields if f.name != "payout_reference")

    def save_model(self, request: HttpRequest, obj: Payment, form: object, change: bool) -> None:
        from topup.domain.errors import DomainError  # noqa: PLC0415 - admin stays import-light
        from topup.services.refunds import payout_done  # noqa: PLC0415

        try:
            self.message_user(request, f"{obj.id}: {payout_done(obj.id, obj.payout_reference)}")
        except DomainError as exc:  # no reference given: nothing recorded
            self.message_user(request, f"{obj.id}: {exc.code}", level=messages.ERROR)

    @admin.display(description="review")
    def review(self, obj: Payment) -> str:
        if not obj.review_code:
            return ""
        received = _money(obj.received_minor or 0, obj.received_currency or obj.currency)
        return f"{obj.review_code}: received {received}"

    @admin.action(description="Refund what was received (payments under review)", permissions=("refund",))
    def refund_received(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        from topup.services.payments import refund_under_review  # noqa: PLC0415 - admin stays import-light

        for payment in queryset:
            self.message_user(request, f"{payment.id}: {refund_under_review(payment.id)}")

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj: Payment) -> str:
        return _money(obj.amount_minor, obj.currency)

    @admin.display(description="refunded", ordering="refunded_minor")
    def refunded(self, obj: Payment) -> str:
        return _money(obj.refunded_minor, obj.currency)


class CatalogueAdmin(ModelAdmin):
    """Editable by staff; rows are switched off with `active`, never deleted (orders point at them)."""

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return ("id",) if obj is not None else ()  # orders, lines and bundles refer to it by its id


@admin.register(NetworkRecord)
class NetworkAdmin(CatalogueAdmin):
    list_display = ("id", "name", "kind", "commission_bp", "currency", "active")
    list_filter = ("kind", "active")
    search_fields = ("id", "name")


class CarrierProductInline(TabularInline):
    model = CarrierProductRecord
    fields = ("route", "product_ref")
    extra = 0
    verbose_name_plural = "carrier products (a bundle on an external network is activated as this product)"


@admin.register(PlanRecord)
class PlanAdmin(CatalogueAdmin):
    list_display = ("id", "network", "name", "kind", "price_minor", "currency", "validity_days", "active")
    list_editable = ("price_minor", "active")
    list_filter = ("network", "kind", "active")
    search_fields = ("id", "name", "code")
    list_select_related = ("network",)
    inlines = (CarrierProductInline,)


@admin.register(CarrierProductRecord)
class CarrierProductAdmin(ModelAdmin):
    """Which product of each carrier route a plan is. A bundle plan of an external network without a
    product on its network's route is refused (`plan_not_deliverable`), never sold as credit; a paid order
    keeps the product frozen in its quote."""

    list_display = ("plan", "route", "product_ref", "plan_network")
    list_filter = ("route", "plan__network")
    list_editable = ("product_ref",)
    search_fields = ("plan__id", "plan__name", "product_ref")
    list_select_related = ("plan",)
    ordering = ("route", "plan_id")

    @admin.display(description="network", ordering="plan__network_id")
    def plan_network(self, obj: CarrierProductRecord) -> str:
        return obj.plan.network_id


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "type", "currency", "debits_posted", "credits_posted", "no_overdraft")
    list_filter = ("type", "currency")
    search_fields = ("id", "name")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "debit_account",
        "credit_account",
        "amount",
        "status",
        "code",
        "order_id",
        "created_at",
    )
    list_filter = ("status", "code", "currency")
    search_fields = ("id", "order_id")
    ordering = ("-created_at",)

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj: Transfer) -> str:
        return _money(obj.amount_minor, obj.currency)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Status `dead`: every attempt failed (TOPUP_JOB_MAX_ATTEMPTS); requeue here or `topup jobs requeue`."""

    list_display = ("id", "kind", "subject_id", "status", "attempts", "run_after", "last_error", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("id", "subject_id")
    ordering = ("-created_at",)
    actions = ("requeue_dead",)

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("topup.change_job"))

    @admin.action(description="Requeue dead jobs (attempts reset)", permissions=("requeue",))
    def requeue_dead(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        from topup.services.jobs import requeue  # noqa: PLC0415

        count = sum(requeue(job_id=job.id) for job in queryset.filter(status="dead"))
        self.message_user(request, f"requeued {count} dead job(s)")
