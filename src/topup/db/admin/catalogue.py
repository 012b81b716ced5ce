"""Back-office pages for the catalogue staff edit: networks, plans and the carrier product of each plan."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from topup.db.admin.base import BackOfficeAdmin, TabularInline
from topup.db.models import CarrierProductRecord, NetworkRecord, PlanRecord


class CatalogueAdmin(BackOfficeAdmin):
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
    verbose_name_plural = _("carrier products (a bundle on an external network is activated as this product)")


@admin.register(PlanRecord)
class PlanAdmin(CatalogueAdmin):
    list_display = (
        "id",
        "network",
        "name",
        "kind",
        "price_minor_money",
        "price_minor",
        "validity_days",
        "active",
    )
    list_editable = ("price_minor", "active")
    list_filter = ("network", "kind", "active")
    search_fields = ("id", "name", "code")
    money_fields = {"price_minor": "currency"}

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "price_minor" and field is not None:
            field.help_text = _("In cents: 1000 is €10.00.")
        return field

    list_select_related = ("network",)
    inlines = (CarrierProductInline,)


@admin.register(CarrierProductRecord)
class CarrierProductAdmin(BackOfficeAdmin):
    """Which product of each carrier route a plan is. A bundle plan of an external network without a
    product on its network's route is refused (`plan_not_deliverable`), never sold as credit; a paid order
    keeps the product frozen in its quote."""

    list_display = ("plan", "route", "product_ref", "plan_network")
    list_filter = ("route", "plan__network")
    list_editable = ("product_ref",)
    search_fields = ("plan__id", "plan__name", "product_ref")
    list_select_related = ("plan",)
    ordering = ("route", "plan_id")

    @admin.display(description=_("network"), ordering="plan__network_id")
    def plan_network(self, obj: CarrierProductRecord) -> str:
        return obj.plan.network_id
