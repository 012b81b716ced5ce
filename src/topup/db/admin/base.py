"""What every back-office page shares: read-only pages for what records money or history, amounts shown as
money in the reader's language, numbers masked for staff who may not see them, and search by number.

Numbers are sealed at rest: a search term that parses as a phone number (`0470 12 34 56`, `+32 470 12 34 56`,
`0032470123456`, `470123456`) is looked up through the blind index of its E.164 form, never by decrypting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from babel.numbers import format_currency, format_decimal
from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import translation
from django.utils.functional import Promise

from topup.channels.web.common import BABEL_LOCALES
from topup.db.admin.words import word
from topup.db.fields import BlindIndexField
from topup.domain.errors import InvalidInput
from topup.domain.identifiers import parse_msisdn
from topup.domain.money import MINOR_DIGITS, Money
from topup.pii import mask_msisdn

if TYPE_CHECKING:  # the stubs make these generic; at run time they are plain classes
    ModelAdmin = admin.ModelAdmin[Any]
    TabularInline = admin.TabularInline[Any, Any]
else:
    ModelAdmin = admin.ModelAdmin
    TabularInline = admin.TabularInline

SEE_NUMBERS = "topup.see_numbers"
# Staff read English amounts the international way ("€10.00"), not the Belgian English one ("10,00 €").
STAFF_LOCALES = {**BABEL_LOCALES, "en": "en"}


def staff_locale() -> str:
    return STAFF_LOCALES.get(translation.get_language() or "en", "en")


def money_text(amount_minor: int | None, currency: str) -> str:
    """An amount in minor units as the reader's locale writes money ("€ 10,00", "€10.00"); '' for none.
    A ledger unit that is no currency (hosted data in kB) is shown as a number with its unit."""
    if amount_minor is None:
        return ""
    if currency not in MINOR_DIGITS:
        return f"{format_decimal(amount_minor, locale=staff_locale())} {currency}"
    return format_currency(Money(int(amount_minor), currency).as_decimal(), currency, locale=staff_locale())


def may_see_numbers(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(SEE_NUMBERS))


def number_shown(value: str | None, *, full: bool) -> str:
    """A number in full for staff allowed to see it, else masked (`+32 470 •• •• 56`)."""
    if not value:
        return ""
    return value if full or not value.startswith("+") else mask_msisdn(value)


def searched_number(term: str) -> str | None:
    """The E.164 form of a search term typed as a phone number in any format, or None when it is not one."""
    try:
        return parse_msisdn(term, "BE")
    except InvalidInput:
        return None


def money_column(field: str, currency_field: str = "currency") -> Callable[[Any], str]:
    """A column or read-only field that shows `field` (minor units) as money in the row's own currency."""

    def show(obj: Any) -> str:
        currency = obj
        for step in currency_field.split("__"):  # "terminal__retailer__currency": the row's own currency
            currency = getattr(currency, step)
        return money_text(getattr(obj, field), str(currency))

    show.__name__ = f"{field}_money"
    return show


class BackOfficeAdmin(ModelAdmin):
    """Adds money columns (`money_fields`: minor-unit field -> currency field) shown instead of raw minor
    units on the detail page, numbers masked without `see_numbers`, and search by number (`number_fields`:
    encrypted fields with a blind index, possibly across a relation such as `order__msisdn`)."""

    money_fields: ClassVar[dict[str, str]] = {}
    words: ClassVar[dict[str, Mapping[str, Promise]]] = {}  # field -> its codes in the reader's language
    number_fields: ClassVar[tuple[str, ...]] = ()
    hidden_fields: ClassVar[tuple[str, ...]] = ()  # never shown: hashes, sealed documents

    def __init__(self, model: type[Model], admin_site: Any) -> None:
        super().__init__(model, admin_site)
        for field, currency in self.money_fields.items():
            label = _label(model, field)
            setattr(
                self,
                f"{field}_money",
                admin.display(description=label, ordering=field)(money_column(field, currency)),
            )
        for field, codes in self.words.items():
            show = admin.display(description=_label(model, field), ordering=field)(_worded(field, codes))
            setattr(self, f"{field}_word", show)
        for field in self.number_fields:
            if "__" not in field:  # a number of this row: a masked column stands in for it
                label = _label(model, field)
                setattr(self, f"masked_{field}", admin.display(description=label)(_masked(field)))

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = [f"{name}_word" if name in self.words else name for name in super().get_list_display(request)]
        return shown if may_see_numbers(request) else [self.masked(name) for name in shown]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [
            worded_filter(name, self.words[name]) if isinstance(name, str) and name in self.words else name
            for name in super().get_list_filter(request)
        ]

    def masked(self, name: Any) -> Any:
        """The masked column that stands in for a number column `name` (other columns stay)."""
        return f"masked_{name}" if isinstance(name, str) and name in self.number_fields else name

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        e164 = searched_number(search_term) if self.number_fields and search_term.strip() else None
        if e164 is None:
            return found, duplicates
        by_number = Q()
        for field in self.number_fields:
            by_number |= Q(**{field: e164})  # the encrypted field's lookup goes to its blind index
        return found | queryset.filter(by_number), duplicates or "__" in "".join(self.number_fields)


def _label(model: type[Model], field: str) -> Any:
    return getattr(model._meta.get_field(field), "verbose_name", field)


def _worded(field: str, words: Mapping[str, Promise]) -> Callable[[Any], str]:
    def show(obj: Any) -> str:
        return word(words, getattr(obj, field))

    show.__name__ = f"{field}_word"
    return show


def worded_filter(field: str, words: Mapping[str, Promise]) -> type[admin.SimpleListFilter]:
    """A list filter on `field` whose choices are the codes' words in the reader's language."""

    class Worded(admin.SimpleListFilter):
        parameter_name = field

        def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
            self.title = str(_label(model, field))
            super().__init__(request, params, model, model_admin)

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [(code, str(label)) for code, label in words.items()]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    return Worded


def _masked(field: str) -> Callable[[Any], str]:
    def show(obj: Any) -> str:
        return number_shown(getattr(obj, field), full=False)

    show.__name__ = f"masked_{field}"
    return show


class ReadOnlyAdmin(BackOfficeAdmin):
    """Staff can look but not add, change or delete (view permission is enough to open a row); bulk delete
    is gone with the delete permission. Detail pages show money as money and hide hashes."""

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if self.fields:
            return list(self.fields)
        names = [
            f.name
            for f in self.model._meta.fields
            if f.editable and not isinstance(f, BlindIndexField) and f.name not in self.hidden_fields
        ]
        names = [f"{name}_money" if name in self.money_fields else name for name in names]
        return names if may_see_numbers(request) else [self.masked(name) for name in names]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return self.get_fields(request, obj)


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
