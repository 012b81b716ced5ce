"""Showing (and optionally charging) yuan to Alipay and WeChat Pay payers: a reference rate, our markup, the
yuan amount of a EUR total and until when that quote holds. The ledger stays in EUR; this is what the
payer is shown and what is frozen into the order.

Rounding rule: yuan fen = EUR cents x rate x (1 + markup), rounded half up, computed on exact integers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

from topup.domain.errors import Conflict, InvalidInput
from topup.domain.money import Money

FX_METHODS: Final = frozenset({"alipay", "wechat_pay"})  # methods whose payers are shown yuan
FX_CURRENCY: Final = "CNY"
CHARGE_CURRENCIES: Final = frozenset({"EUR", FX_CURRENCY})
_RATE_TEXT: Final = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,10})?")


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_quote", field="quote")


def parse_rate(text: str) -> Decimal:
    """A rate as published ("7.6880"): a plain positive decimal, kept exactly (never a float)."""
    if not isinstance(text, str) or not _RATE_TEXT.fullmatch(text):
        raise InvalidInput(f"not a rate: {text!r}", code="invalid_rate")
    try:
        rate = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise InvalidInput(f"not a rate: {text!r}", code="invalid_rate") from None
    if rate <= 0:
        raise InvalidInput(f"a rate must be positive: {text!r}", code="invalid_rate")
    return rate


@dataclass(frozen=True, slots=True)
class FxRate:
    """Units of `currency` for one EUR on `rate_date`, as `source` published it."""

    currency: str
    rate: Decimal
    rate_date: date
    source: str


def convert_with_markup(total: Money, rate: Decimal, markup_bp: int, currency: str = FX_CURRENCY) -> Money:
    """`total` (EUR) in `currency` at `rate` plus `markup_bp` basis points, rounded half up to minor units.

    Both currencies have two minor digits, so minor units convert directly; the product is an exact
    fraction of integers, rounded once.
    """
    if total.amount_minor < 0 or markup_bp < 0:
        raise _invalid("only a non-negative amount and markup convert")
    sign, digits, exponent = rate.as_tuple()
    if sign or not isinstance(exponent, int):
        raise _invalid("a rate must be a finite positive decimal")
    mantissa = int("".join(map(str, digits)))
    numerator = total.amount_minor * mantissa * (10_000 + markup_bp)
    denominator = 10_000
    if exponent >= 0:
        numerator *= 10**exponent
    else:
        denominator *= 10**-exponent
    return Money((2 * numerator + denominator) // (2 * denominator), currency)


@dataclass(frozen=True, slots=True)
class FxQuote:
    """The yuan side of a quote: what the payer is shown, frozen into the order with the EUR total."""

    amount: Money  # the EUR total in yuan, markup included
    rate: Decimal  # the reference rate (units per EUR), without our markup
    source: str  # "ECB"
    rate_date: date
    markup_bp: int
    valid_until: datetime  # until when this quote holds (aware UTC)
    charge_currency: str  # what the provider is asked to charge: EUR, or the yuan amount itself

    @property
    def currency(self) -> str:
        return self.amount.currency

    def to_dict(self) -> dict[str, object]:
        """JSON-ready; the rate as its exact decimal text."""
        return {
            "amount": {"amount_minor": self.amount.amount_minor, "currency": self.amount.currency},
            "rate": str(self.rate),
            "source": self.source,
            "rate_date": self.rate_date.isoformat(),
            "markup_bp": self.markup_bp,
            "valid_until": self.valid_until.isoformat(),
            "charge_currency": self.charge_currency,
        }

    @classmethod
    def from_dict(cls, data: object) -> FxQuote:
        if not isinstance(data, Mapping):
            raise _invalid("fx must be an object")
        try:
            amount = data["amount"]
            texts = {name: data[name] for name in ("rate", "source", "rate_date", "valid_until")}
            markup, charge = data["markup_bp"], data["charge_currency"]
        except KeyError as exc:
            raise _invalid(f"missing fx field {exc.args[0]!r}") from None
        if not isinstance(amount, Mapping) or not all(isinstance(v, str) for v in texts.values()):
            raise _invalid("fx amount must be money and its rate, source and dates text")
        minor, currency = amount.get("amount_minor"), amount.get("currency")
        if not isinstance(minor, int) or isinstance(minor, bool) or not isinstance(currency, str):
            raise _invalid("fx amount must be money")
        if not isinstance(markup, int) or isinstance(markup, bool) or charge not in CHARGE_CURRENCIES:
            raise _invalid("fx markup_bp must be an integer and charge_currency EUR or CNY")
        try:
            rate_date = date.fromisoformat(str(texts["rate_date"]))
            valid_until = datetime.fromisoformat(str(texts["valid_until"]))
        except ValueError:
            raise _invalid("fx dates must be ISO 8601") from None
        return cls(
            amount=Money(minor, currency),
            rate=parse_rate(str(texts["rate"])),
            source=str(texts["source"]),
            rate_date=rate_date,
            markup_bp=markup,
            valid_until=valid_until,
            charge_currency=str(charge),
        )


def fx_quote(
    total: Money,
    rate: FxRate | None,
    *,
    markup_bp: int,
    quoted_at: datetime,
    ttl_s: int,
    max_age_days: int,
    charge_currency: str,
) -> FxQuote:
    """The yuan quote of a EUR `total`; refuses a missing rate or one older than `max_age_days` (the ECB
    publishes on working days, so a weekend and a holiday must fit)."""
    if quoted_at.tzinfo is None:
        raise InvalidInput("quoted_at must be timezone-aware", code="naive_datetime")
    if rate is None or (quoted_at.date() - rate.rate_date).days > max_age_days:
        when = "no rate" if rate is None else f"the rate of {rate.rate_date.isoformat()}"
        raise Conflict(
            f"{when} is too old to quote {FX_CURRENCY}; import the current rates", code="fx_rate_unavailable",
            field="payment_method",
        )  # fmt: skip
    if charge_currency not in CHARGE_CURRENCIES:
        raise InvalidInput(f"cannot charge in {charge_currency!r}", code="unsupported_currency")
    return FxQuote(
        amount=convert_with_markup(total, rate.rate, markup_bp, rate.currency),
        rate=rate.rate,
        source=rate.source,
        rate_date=rate.rate_date,
        markup_bp=markup_bp,
        valid_until=quoted_at + timedelta(seconds=ttl_s),
        charge_currency=charge_currency,
    )
