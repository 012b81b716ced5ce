"""Forms and the two add pages of the shop back office that go through the retail services: recording a
retailer's bank transfer (a float top-up) and registering a terminal (its secret shown once, on the answer).

A refusal of the service (`bank_reference_used`, `invalid_amount`…) is shown next to its field in the
reader's language and changes nothing.
"""

from __future__ import annotations

from typing import Any, Final

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from topup.channels.messages import message_for
from topup.db.models import Commission, Retailer
from topup.domain import retail as rules
from topup.domain.errors import DomainError
from topup.domain.money import parse_money

# Staff's wording of the refusals the retail services give (customers never see these).
STAFF_MESSAGES: Final[dict[str, Promise]] = {
    "bank_reference_used": _("This bank reference was already recorded for another retailer or amount."),
    "bank_reference_required": _("Enter the reference of the bank transfer."),
    "retailer_not_found": _("This retailer does not exist."),
    "invalid_commission": _("A commission is between 0 and 10,000 basis points."),
    "invalid_terminal_kind": _("A terminal is a POS terminal or a kiosk."),
}


def refusal(exc: DomainError) -> str:
    return str(STAFF_MESSAGES.get(exc.code) or message_for(exc.code))


class RetailerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Retailer
        fields = ("name", "address_lines", "vat_number", "language", "credit_limit_minor", "active")
        help_texts = {"credit_limit_minor": _("In cents: 50000 is €500.00.")}

    def clean_credit_limit_minor(self) -> int:
        """A credit limit is never negative, nor lowered below what the retailer already uses."""
        limit = int(self.cleaned_data["credit_limit_minor"])
        if limit < 0 or (self.instance.pk and self.instance.float_minor < -limit):
            raise forms.ValidationError(gettext("The credit limit cannot be below the credit already used."))
        return limit


class CommissionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Commission
        fields = ("network_id", "plan_id", "rate_bp")

    def clean_rate_bp(self) -> int:
        rate = int(self.cleaned_data["rate_bp"])
        try:
            rules.CommissionRule(rate)
        except DomainError as exc:
            raise forms.ValidationError(refusal(exc)) from exc
        return rate


class FloatTopUpForm(forms.Form):
    retailer = forms.ModelChoiceField(
        Retailer.objects.filter(active=True).order_by("name"), label=_("retailer")
    )
    amount = forms.CharField(label=_("amount"), max_length=20, help_text=_("In euros, e.g. 250.00"))
    bank_reference = forms.CharField(label=_("bank reference"), max_length=80)

    def clean_amount(self) -> int:
        try:
            return parse_money(self.cleaned_data["amount"], "EUR").amount_minor
        except DomainError as exc:
            raise forms.ValidationError(refusal(exc)) from exc


class TerminalForm(forms.Form):
    retailer = forms.ModelChoiceField(
        Retailer.objects.filter(active=True).order_by("name"), label=_("retailer")
    )
    label = forms.CharField(label=_("label"), max_length=80)
    kind = forms.ChoiceField(label=_("kind"), choices=(("pos", _("POS terminal")), ("kiosk", _("kiosk"))))


def _page(admin: Any, request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
    response = TemplateResponse(
        request,
        template,
        {**admin.admin_site.each_context(request), "opts": admin.model._meta, **context},
    )
    response["Cache-Control"] = "no-store"
    return response


def add_float_topup(admin: Any, request: HttpRequest) -> HttpResponse:
    """Record a bank transfer: the same reference again records nothing more (the first one is shown)."""
    from topup.services.retail_admin import float_topup  # noqa: PLC0415 - admin stays import-light

    form = FloatTopUpForm(request.POST or None, initial={"retailer": request.GET.get("retailer")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            topup_id, new = float_topup(
                data["retailer"].id, data["amount"], bank_reference=data["bank_reference"],
                recorded_by=request.user.get_username(),
            )  # fmt: skip
        except DomainError as exc:
            form.add_error("bank_reference" if exc.field == "reference" else None, refusal(exc))
        else:
            said = (
                gettext("Bank transfer recorded.") if new else gettext("This transfer was already recorded.")
            )
            messages.success(request, said)
            return HttpResponseRedirect(reverse("admin:topup_floattopup_change", args=[topup_id]))
    title = gettext("Record a bank transfer")
    return _page(admin, request, "backoffice/form.html", form=form, title=title)


def add_terminal(admin: Any, request: HttpRequest) -> HttpResponse:
    """Register a terminal; the answer shows its id and secret once (no-store), then only the id remains."""
    from topup.services.retail_admin import create_terminal  # noqa: PLC0415 - admin stays import-light

    form = TerminalForm(request.POST or None, initial={"retailer": request.GET.get("retailer")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = create_terminal(data["retailer"].id, data["label"], kind=data["kind"])
        except DomainError as exc:
            form.add_error(None, refusal(exc))
        else:
            title = gettext("Terminal registered")
            return _page(admin, request, "backoffice/terminal_added.html", credentials=made, title=title)
    return _page(admin, request, "backoffice/form.html", form=form, title=gettext("Register a terminal"))
