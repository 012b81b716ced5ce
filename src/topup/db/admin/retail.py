"""Back-office pages for shops: retailers with their commissions and terminals, float top-ups, sales and
shifts (Z reports).

Money moves only through the retail services: a float top-up is recorded by `retail_admin.float_topup`
(idempotent on the bank reference, with its ledger posting), a terminal is registered by
`retail_admin.create_terminal`, whose secret is shown once on the page that answers and never again.
Sales and shifts are read-only; nothing here is deleted.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from topup.db.admin.base import BackOfficeAdmin, ReadOnlyAdmin, ReadOnlyInline, TabularInline, money_text
from topup.db.admin.retail_forms import CommissionForm, RetailerForm, add_float_topup, add_terminal
from topup.db.admin.words import SALE_KINDS, SALE_STATUSES, TENDERS, Z_REPORT_LINES
from topup.db.models import Commission, FloatTopUp, Retailer, Sale, Shift, ShiftMovement, Terminal


class CommissionInline(TabularInline):
    model = Commission
    form = CommissionForm
    fields = ("network_id", "plan_id", "rate_bp")
    extra = 0


class TerminalInline(ReadOnlyInline):
    model = Terminal
    fields = ("id", "label", "kind", "active", "last_seen_at")
    show_change_link = True


@admin.register(Retailer)
class RetailerAdmin(BackOfficeAdmin):
    """A retailer's float changes only by sales and recorded bank transfers, never by editing it here."""

    form = RetailerForm
    list_display = ("id", "name", "float_minor_money", "credit_limit_minor_money", "active", "links")
    list_filter = ("active",)
    search_fields = ("id", "name", "vat_number")
    money_fields = {"float_minor": "currency", "credit_limit_minor": "currency"}
    fields = ("name", "address_lines", "vat_number", "language", "credit_limit_minor", "active")
    readonly_fields = ("id", "float_minor_money", "currency", "created_at")
    ordering = ("name",)
    inlines = (CommissionInline, TerminalInline)

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return (*self.fields, *self.readonly_fields) if obj is not None else self.fields

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Retailer, form: Any, change: bool) -> None:
        if change:  # only the fields edited here: a sale may move the float meanwhile, never overwrite it
            edited = [name for name in self.fields if name in form.changed_data]
            if edited:
                obj.save(update_fields=edited)
            return
        from topup.services.retail_admin import create_retailer  # noqa: PLC0415 - admin stays import-light

        made = create_retailer(
            obj.name, vat_number=obj.vat_number, credit_limit_minor=obj.credit_limit_minor,
            address_lines=tuple(obj.address_lines or ()), language=obj.language,
        )  # fmt: skip
        obj.pk, obj.created_at, obj.float_minor = made.pk, made.created_at, made.float_minor

    @admin.display(description=_("statement"))
    def links(self, obj: Retailer) -> str:
        statement = reverse("admin:backoffice-settlement") + f"?retailer={obj.id}"
        transfer = reverse("admin:topup_floattopup_add") + f"?retailer={obj.id}"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            statement,
            gettext("statement"),
            transfer,
            gettext("record a bank transfer"),
        )


@admin.register(Terminal)
class TerminalAdmin(BackOfficeAdmin):
    """The secret is never shown here (only once, when the terminal is registered)."""

    list_display = ("id", "retailer", "label", "kind", "key_id", "active", "created_at", "last_seen_at")
    list_filter = ("kind", "active", "retailer")
    search_fields = ("id", "label", "retailer__name")
    exclude = ("secret",)
    readonly_fields = ("id", "retailer", "kind", "key_id", "created_at", "last_seen_at")
    list_select_related = ("retailer",)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)  # Django's own 403
        return add_terminal(self, request)


@admin.register(FloatTopUp)
class FloatTopUpAdmin(ReadOnlyAdmin):
    """A bank transfer from a retailer, recorded by staff through the retail service (ledger included)."""

    list_display = ("id", "retailer", "amount_minor_money", "bank_reference", "recorded_by", "at")
    list_filter = ("retailer",)
    search_fields = ("id", "bank_reference", "retailer__name")
    money_fields = {"amount_minor": "currency"}
    list_select_related = ("retailer",)
    ordering = ("-at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("topup.add_floattopup"))

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)
        return add_float_topup(self, request)


@admin.register(Sale)
class SaleAdmin(ReadOnlyAdmin):
    """Shop sales, read-only; the PIN and the stored answer (which holds it) are never shown."""

    list_display = (
        "id", "sold_at", "retailer", "terminal", "kind", "plan", "price_minor_money",
        "commission_minor_money", "tender", "status",
    )  # fmt: skip
    list_filter = ("status", "kind", "tender", "retailer")
    words = {"status": SALE_STATUSES, "kind": SALE_KINDS, "tender": TENDERS}
    search_fields = ("id", "terminal_ref", "order__id", "voucher__id")
    number_fields = ("order__msisdn",)
    money_fields = {
        "price_minor": "currency", "commission_minor": "currency", "cash_given_minor": "currency",
        "change_minor": "currency",
    }  # fmt: skip
    hidden_fields = ("pin", "response", "request_hash")
    list_select_related = ("retailer", "terminal", "plan")
    ordering = ("-sold_at",)
    date_hierarchy = "sold_at"


class MovementInline(ReadOnlyInline):
    model = ShiftMovement
    fk_name = "shift"
    fields = ("at", "kind", "tender", "amount", "sale")
    readonly_fields = ("amount",)
    ordering = ("at", "id")

    @admin.display(description=_("amount"))
    def amount(self, obj: ShiftMovement) -> str:
        return money_text(obj.amount_minor, obj.terminal.retailer.currency)


def _z_value(key: str, value: object, currency: str) -> str:
    return money_text(int(str(value)), currency) if key.endswith("_minor") else str(value)


@admin.register(Shift)
class ShiftAdmin(ReadOnlyAdmin):
    """Shifts and their Z report: frozen at close, never changed."""

    list_display = (
        "id", "terminal", "opened_at", "opened_by", "opening_float_minor_money", "closed_at",
        "counted_cash_minor_money", "variance_minor_money",
    )  # fmt: skip
    list_filter = ("terminal__retailer",)
    search_fields = ("id", "terminal__id", "opened_by")
    money_fields = dict.fromkeys(
        ("opening_float_minor", "carried_minor", "counted_cash_minor", "variance_minor"),
        "terminal__retailer__currency",
    )
    hidden_fields = ("z_report",)  # shown as the table below, amounts as money
    readonly_fields = ("z_report_lines",)
    list_select_related = ("terminal__retailer",)
    ordering = ("-opened_at",)
    inlines = (MovementInline,)

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return [*super().get_fields(request, obj), "z_report_lines"]

    @admin.display(description=_("Z report"))
    def z_report_lines(self, obj: Shift) -> str:
        """The frozen Z as a table: its lines in words, amounts as money in the shop's currency."""
        report = (obj.z_report or {}).get("report") or {}  # services/shifts freezes {…, "report": {…}}
        currency = str(report.get("currency") or obj.terminal.retailer.currency)
        rows = [
            (str(label), _z_value(key, report[key], currency))
            for key, label in Z_REPORT_LINES.items()
            if report.get(key) not in (None, "")
        ]
        if not rows:
            return "-"
        lines = format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows)
        return format_html("<table>{}</table>", lines)
