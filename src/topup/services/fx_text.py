"""The words and figures an Alipay or WeChat Pay payer reads beside a price: both currencies, the rate, its
source and date, our markup, and until when the quote holds. One wording for the pages, receipts and SMS,
in the active language; numbers and dates in the reader's Babel locale."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from topup.clock import BRUSSELS
from topup.domain.fx import FxQuote
from topup.domain.money import Money

SOURCE_NAMES: Final = {"ECB": gettext_lazy("ECB")}  # the European Central Bank's reference rates


def money_text(amount: Money, locale: str) -> str:
    return format_currency(amount.as_decimal(), amount.currency, locale=locale)


def rate_text(rate: Decimal, locale: str) -> str:
    """The rate with exactly the decimals its source published ("7.6880", "7,6880")."""
    exponent = rate.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return format_decimal(rate, format="#,##0" + ("." + "0" * places if places else ""), locale=locale)


def _values(total: Money, fx: FxQuote, locale: str) -> dict[str, str]:
    return {
        "total": money_text(total, locale),
        "amount": money_text(fx.amount, locale),
        "rate": rate_text(fx.rate, locale),
        "source": str(SOURCE_NAMES.get(fx.source, fx.source)),
        "date": format_date(fx.rate_date, "medium", locale=locale),
        "markup": format_percent(Decimal(fx.markup_bp) / 10_000, "#,##0.##%", locale=locale),
    }


def both_currencies(total: Money, fx: FxQuote | None, locale: str) -> str:
    """The total and its yuan amount with the rate, as "€10.00 (≈ CN¥77.52 at 7.6000, ECB 27 Nov 2026 + 2%)";
    charged in yuan, the yuan amount leads. Without FX, the total alone."""
    if fx is None:
        return money_text(total, locale)
    values = _values(total, fx, locale)
    if fx.charge_currency == fx.currency:
        return _("%(amount)s (%(total)s at %(rate)s, %(source)s %(date)s + %(markup)s)") % values
    return _("%(total)s (≈ %(amount)s at %(rate)s, %(source)s %(date)s + %(markup)s)") % values


def holds_until(fx: FxQuote, locale: str) -> str:
    return _("This rate holds until %(time)s.") % {"time": _when(fx.valid_until, locale)}


def _when(at: datetime, locale: str) -> str:
    return format_datetime(at, "short", tzinfo=BRUSSELS, locale=locale)
