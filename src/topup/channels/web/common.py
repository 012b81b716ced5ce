"""Presentation helpers shared by the web pages: the `?lang=` switch, money and dates in the reader's
locale, and domain errors turned into messages placed next to the field they concern."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from topup.channels.messages import message_for
from topup.domain.errors import DomainError
from topup.domain.money import Money
from topup.services import locale_text

BABEL_LOCALES: Final[Mapping[str, str]] = locale_text.BABEL_LOCALES  # one table for every channel
GENERAL: Final = "general"  # where an error that concerns no single field is shown


def babel_locale() -> str:
    return locale_text.babel_locale()


def money(amount: Money) -> str:
    return format_currency(amount.as_decimal(), amount.currency, locale=babel_locale())


def number(value: float) -> str:
    return format_decimal(value, locale=babel_locale())


def percent(basis_points: int) -> str:
    return format_percent(basis_points / 10_000, locale=babel_locale())


def day(value: date | str | None) -> str:
    if not value:
        return ""
    when = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return format_date(when, format="long", locale=babel_locale())


def errors_of(exc: DomainError | None = None, *, code: str = "", field: str = "") -> dict[str, str]:
    """{field: message in the reader's language}; errors without a known field go under GENERAL."""
    if exc is not None:
        code, field = exc.code, exc.field or field
    return {field or GENERAL: str(message_for(code))}


def page(
    request: HttpRequest, template: str, context: Mapping[str, object], status: int = 200
) -> HttpResponse:
    """Render a page in the `?lang=` language when one is asked for, and remember that choice."""
    language = requested_language(request)
    response = render(request, template, context, status=status)
    return remember_language(response, language)


def requested_language(request: HttpRequest) -> str | None:
    """Activate the language of `?lang=xx` for this request when it is one we speak."""
    wanted = request.GET.get("lang", "").strip().lower()
    if wanted not in {code for code, _name in settings.LANGUAGES}:
        return None
    translation.activate(wanted)
    request.LANGUAGE_CODE = wanted
    return wanted


def remember_language(response: HttpResponse, language: str | None) -> HttpResponse:
    """Keep the chosen language for the next visits in the cookie that LocaleMiddleware reads."""
    if language is not None:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response
