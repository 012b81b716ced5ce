"""Money, dates and numbers in a customer's language, the one place every channel (web, SMS, USSD, IVR,
e-mail, receipts) takes them from: each of our languages has one Babel locale, Belgian where there is one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from django.utils import translation

from topup.clock import BRUSSELS
from topup.domain.money import Money

# Django's language codes and the Babel locales that format numbers and dates the Belgian way.
BABEL_LOCALES: Final[Mapping[str, str]] = {
    "en": "en_BE",
    "nl": "nl_BE",
    "fr": "fr_BE",
    "de": "de_BE",
    "zh-hans": "zh_Hans_CN",
}
DEFAULT_LOCALE: Final = "en_BE"
# Languages whose readers know the currency by its name better than by its sign: "10欧元" rather than "€10".
NAMED_CURRENCY_LANGUAGES: Final = frozenset({"zh-hans"})


def babel_locale(language: str | None = None) -> str:
    """The Babel locale of `language` (Django's code), or of the active language when none is given."""
    code = (language or translation.get_language() or "en").lower()
    return BABEL_LOCALES.get(code, BABEL_LOCALES.get(code.split("-")[0], DEFAULT_LOCALE))


def money(amount: Money, language: str | None = None) -> str:
    """ "€ 10,50", "10,50 €", "€10.50": the amount with its cents, as the language writes it."""
    return format_currency(amount.as_decimal(), amount.currency, locale=babel_locale(language))


def money_short(amount: Money, language: str | None = None) -> str:
    """An amount without ",00" when it is whole ("€ 10", "10 €"), with its cents otherwise."""
    locale = babel_locale(language)
    value = amount.as_decimal()
    if value != value.to_integral_value():
        return format_currency(value, amount.currency, locale=locale)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    whole = pattern.replace(".00", "")
    return format_currency(value, amount.currency, locale=locale, format=whole, currency_digits=False)


def money_title(amount: Money, language: str | None = None) -> str:
    """An amount in a title ("€ 10", "10 €", "10欧元"): whole when it is, the currency named where its
    readers know it by name."""
    code = (language or translation.get_language() or "en").lower()
    return money_named(amount, code) if code in NAMED_CURRENCY_LANGUAGES else money_short(amount, code)


def money_named(amount: Money, language: str | None = None) -> str:
    """The amount with the currency's name rather than its sign ("10 欧元", "10 euro"), whole when it is."""
    value = amount.as_decimal()
    pattern = "#,##0" if value == value.to_integral_value() else "#,##0.00"
    return format_currency(
        value, amount.currency, locale=babel_locale(language), format=pattern, currency_digits=False,
        format_type="name",
    )  # fmt: skip


def number(value: int | float | Decimal, language: str | None = None) -> str:
    return format_decimal(value, locale=babel_locale(language))


def day(value: date | datetime | str | None, language: str | None = None, length: str = "long") -> str:
    """A calendar day ("28 mai 2027", "2027年5月28日"); a datetime is read in Brussels time; "" for none."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.astimezone(BRUSSELS).date() if value.tzinfo else value.date()
    return format_date(value, format=length, locale=babel_locale(language))


def moment(at: datetime | None, language: str | None = None, length: str = "short") -> str:
    """A date and time in Brussels time; "-" for none."""
    if at is None:
        return "-"
    return format_datetime(at, length, tzinfo=BRUSSELS, locale=babel_locale(language))
