"""Back-office pages for promotions: staff create and change campaigns and their codes (terms checked by
the engine's own validation); redemptions and free purchases are read-only (they change only through
orders), and nothing here is deleted. A code's uses and a campaign's spending are never edited by hand."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from topup.channels.messages import message_for
from topup.clock import new_id, now
from topup.db.admin.base import BackOfficeAdmin, ReadOnlyAdmin, TabularInline
from topup.db.models import Campaign, Entitlement, PromoCode, Redemption
from topup.domain import promotion_rules as rules
from topup.domain.errors import DomainError
from topup.services import promotion_admin


class CampaignForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Campaign
        fields = (
            "names", "rule", "active", "starts_at", "ends_at", "channels", "networks", "plans", "priority",
            "stacking", "percent_bp", "amount_minor", "currency", "min_amount_minor", "bonus_data_mb",
            "within_days", "bogo_mode", "requires_code", "once_per_customer", "refund_rule", "budget_minor",
        )  # fmt: skip
        help_texts = {
            "names": _('Per language: {"en": "…", "nl": "…", "fr": "…", "de": "…", "zh-hans": "…"}'),
            "channels": _("Comma-separated (web, api, sms, ussd, pos, kiosk, agent, ivr); empty: all."),
            "networks": _("Comma-separated network ids; empty: all."),
            "plans": _("Comma-separated plan ids; empty: all."),
            "percent_bp": _("In basis points: 1000 is 10 %."),
            "amount_minor": _("In cents: 1000 is €10.00."),
            "priority": _("Lower applies first; a percentage is taken of what is left."),
        }

    def clean_names(self) -> dict[str, str]:
        names = self.cleaned_data["names"]
        if (
            not isinstance(names, dict)
            or not names.get("en")
            or not all(isinstance(v, str) for v in names.values())
        ):
            raise forms.ValidationError(_("Give the name at least in English, as a text per language."))
        return names

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                promotion_admin.validate(self.instance_with(cleaned))
            except DomainError as exc:  # the translated wording, then the engine's detail for staff
                raise forms.ValidationError(f"{message_for(exc.code)} ({exc.message})") from exc
        return cleaned

    def instance_with(self, cleaned: dict[str, Any]) -> Campaign:
        campaign = Campaign(**{name: cleaned.get(name) for name in self.Meta.fields if name in cleaned})
        campaign.spent_minor = self.instance.spent_minor if self.instance.pk else 0
        return campaign


class PromoCodeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PromoCode
        fields = ("code", "active", "max_uses")

    def clean_code(self) -> str:
        try:
            return rules.check_code_format(rules.normalise_code(self.cleaned_data["code"]))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


class PromoCodeInline(TabularInline):
    model = PromoCode
    form = PromoCodeForm
    fields = ("code", "active", "max_uses", "uses")
    readonly_fields = ("uses",)
    extra = 0

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(BackOfficeAdmin):
    form = CampaignForm
    list_display = (
        "id",
        "__str__",
        "rule",
        "active",
        "starts_at",
        "ends_at",
        "priority",
        "spent_minor_money",
    )
    list_filter = ("active", "rule")
    search_fields = ("id", "codes__code")
    money_fields = {"spent_minor": "currency", "budget_minor": "currency"}
    readonly_fields = ("id", "spent_minor_money", "created_at")
    ordering = ("priority", "id")
    inlines = (PromoCodeInline,)

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change:
            obj.id, obj.created_at = new_id("cmp"), now()
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for code in formset.save(commit=False):
            if code.created_at is None:
                code.created_at = now()
            code.save()
        formset.save_m2m()

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ("id", "order_id", "campaign", "code", "state", "saving_minor_money", "created_at")
    list_filter = ("state", "campaign")
    search_fields = ("id", "order_id", "code__code")
    money_fields = {"saving_minor": "currency", "cost_minor": "currency"}
    hidden_fields = ("customer_index", "customer_key")
    list_select_related = ("campaign", "code")
    ordering = ("-created_at",)


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = ("id", "campaign", "plan_id", "state", "granted_by", "used_by", "created_at")
    list_filter = ("state", "campaign")
    search_fields = ("id", "granted_by", "used_by")
    hidden_fields = ("customer_index",)
    ordering = ("-created_at",)
