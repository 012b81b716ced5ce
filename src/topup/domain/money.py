"""Money as a frozen value: integer minor units and an ISO 4217 currency; VAT split of inclusive prices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from topup.domain.errors import InvalidInput

_AMOUNT = re.compile(r"([+-]?)([0-9]{1,15})(?:[.,]([0-9]{1,30}))?")
MINOR_DIGITS = {"EUR": 2, "CNY": 2, "USD": 2, "GBP": 2}
BELGIAN_VAT_BP = 2100  # 21 % in basis points


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("amount_minor must be an int")
        if self.currency not in MINOR_DIGITS:
            raise InvalidInput(f"unsupported currency {self.currency!r}", code="unsupported_currency")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor <= other.amount_minor

    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def as_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-MINOR_DIGITS[self.currency])

    def __str__(self) -> str:
        return f"{self.as_decimal():.{MINOR_DIGITS[self.currency]}f} {self.currency}"


def parse_money(text: str, currency: str) -> Money:
    """Parse a decimal amount typed by a person ("10", "10.5", "10,50") into exact minor units.

    Only plain decimals are read (no exponent, no NaN, at most 15 integer digits), so nothing is rounded.
    """
    digits = MINOR_DIGITS.get(currency)
    if digits is None:
        raise InvalidInput(f"unsupported currency {currency!r}", code="unsupported_currency")
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"not an amount: {text!r}", code="invalid_amount")
    sign, units, fraction = match.group(1), match.group(2), (match.group(3) or "").rstrip("0")
    if len(fraction) > digits:
        raise InvalidInput(f"too many decimals in {text!r}", code="invalid_amount")
    minor = int(units) * 10**digits + int(fraction.ljust(digits, "0") or "0")
    return Money(-minor if sign == "-" else minor, currency)


def convert(amount: Money, rate: Decimal, currency: str) -> Money:
    """FX conversion at `rate` (units of `currency` per unit of `amount`), rounded half-up to minor units."""
    value = amount.as_decimal() * rate
    quantum = Decimal(1).scaleb(-MINOR_DIGITS[currency])
    return Money(
        int(value.quantize(quantum, rounding=ROUND_HALF_UP).scaleb(MINOR_DIGITS[currency])), currency
    )


@dataclass(frozen=True, slots=True)
class VatSplit:
    gross: Money
    net: Money
    vat: Money
    rate_bp: int


def split_vat(gross: Money, rate_bp: int = BELGIAN_VAT_BP) -> VatSplit:
    """Split a VAT-inclusive amount: vat = gross * rate / (1 + rate), rounded half-even; net = gross - vat."""
    vat_exact = Decimal(gross.amount_minor) * rate_bp / (10_000 + rate_bp)
    vat_minor = int(vat_exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    vat = Money(vat_minor, gross.currency)
    return VatSplit(gross=gross, net=gross - vat, vat=vat, rate_bp=rate_bp)
