"""Back-office pages for partners' status callbacks: staff set or change a key's callback URL (checked as
the API checks it; a new callback's signing secret is shown once, to hand to the partner) and look at the
events sent or still being retried."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from topup.db.admin.base import BackOfficeAdmin, ReadOnlyAdmin
from topup.db.models import PartnerEvent, PartnerHook
from topup.domain.errors import InvalidInput


class PartnerHookForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = PartnerHook
        fields = ("api_key", "url")

    def clean_url(self) -> str:
        from topup.services import partner_hooks  # noqa: PLC0415 - services import the models this loads

        try:
            return partner_hooks.check_url(str(self.cleaned_data["url"]))
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(PartnerHook)
class PartnerHookAdmin(BackOfficeAdmin):
    form = PartnerHookForm
    list_display = ("api_key", "url", "updated_at")
    search_fields = ("api_key__id", "api_key__name", "url")
    ordering = ("-updated_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("api_key",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from topup.services import partner_hooks  # noqa: PLC0415

        secret = partner_hooks.set_hook(obj.api_key_id, obj.url)
        if secret:
            messages.warning(request, f"Signing secret (shown once, give it to the partner): {secret}")


@admin.register(PartnerEvent)
class PartnerEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "api_key_id", "order_id", "status", "created_at", "delivered_at", "last_error")
    list_filter = ("status",)
    search_fields = ("id", "order_id", "api_key_id")
    ordering = ("-created_at",)
