"""Money values, parsing, FX conversion and the VAT split of inclusive prices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.errors import InvalidInput
from topup.domain.money import BELGIAN_VAT_BP, Money, convert, parse_money, split_vat

amounts = st.integers(min_value=-(10**12), max_value=10**12)
currencies = st.sampled_from(["EUR", "CNY", "USD", "GBP"])


@pytest.mark.parametrize(
    ("text", "minor"),
    [("10", 1000), ("10.5", 1050), ("10,50", 1050), (" 0.01 ", 1), ("-2.30", -230)],
)
def test_parse_money_reads_what_people_type(text: str, minor: int) -> None:
    assert parse_money(text, "EUR") == Money(minor, "EUR")


@pytest.mark.parametrize(
    "text",
    [
        "ten",
        "",
        "1.005",
        "1e-3",
        "1e3",
        "NaN",
        "sNaN",
        "Infinity",
        "1e999999999",
        "1.2.3",
        "1" * 16,
        "1.0000000000000000000000000000001",
    ],
)
def test_parse_money_refuses_non_amounts(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_money(text, "EUR")
    assert info.value.code == "invalid_amount"


def test_parse_money_is_exact_up_to_15_integer_digits() -> None:
    assert parse_money("9" * 15 + ".99", "EUR").amount_minor == 10**17 - 1
    assert parse_money("1.10000000", "EUR") == Money(110, "EUR")


def test_unsupported_currency_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        Money(100, "XXX")
    assert info.value.code == "unsupported_currency"
    with pytest.raises(InvalidInput):
        parse_money("1", "XXX")


def test_money_refuses_float_and_bool_amounts() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "EUR")


def test_mixing_currencies_raises() -> None:
    with pytest.raises(ValueError, match="cannot mix"):
        _ = Money(1, "EUR") + Money(1, "CNY")
    with pytest.raises(ValueError, match="cannot mix"):
        _ = Money(1, "EUR") < Money(1, "CNY")


def test_str_shows_two_decimals() -> None:
    assert str(Money(1050, "EUR")) == "10.50 EUR"
    assert str(Money(5, "CNY")) == "0.05 CNY"


def test_convert_rounds_half_up() -> None:
    assert convert(Money(1000, "EUR"), Decimal("7.8125"), "CNY") == Money(7813, "CNY")
    assert convert(Money(1, "EUR"), Decimal("0.5"), "CNY") == Money(1, "CNY")


@given(a=amounts, b=amounts, c=amounts, currency=currencies)
def test_money_arithmetic_is_integer_arithmetic(a: int, b: int, c: int, currency: str) -> None:
    x, y, z = Money(a, currency), Money(b, currency), Money(c, currency)
    assert (x + y) + z == x + (y + z)
    assert x + y == y + x
    assert (x + y) - y == x
    assert -x + x == Money.zero(currency)
    assert (-x).amount_minor == -a
    assert x + Money.zero(currency) == x
    assert (x <= y) == (a <= b)
    assert (x < y) == (a < b)
    assert x.is_positive() == (a > 0)


@given(gross=st.integers(min_value=0, max_value=10**12), rate_bp=st.integers(min_value=0, max_value=5_000))
def test_vat_split_adds_up_and_is_within_half_a_cent(gross: int, rate_bp: int) -> None:
    split = split_vat(Money(gross, "EUR"), rate_bp)
    assert split.net + split.vat == split.gross == Money(gross, "EUR")
    exact = Decimal(gross) * rate_bp / (10_000 + rate_bp)
    assert abs(Decimal(split.vat.amount_minor) - exact) <= Decimal("0.5")
    assert split.rate_bp == rate_bp


@given(gross=st.integers(min_value=0, max_value=10**9))
def test_belgian_vat_is_21_of_121(gross: int) -> None:
    split = split_vat(Money(gross, "EUR"))
    assert split.rate_bp == BELGIAN_VAT_BP == 2100
    assert abs(Decimal(split.vat.amount_minor) - Decimal(gross) * 21 / 121) <= Decimal("0.5")


@pytest.mark.parametrize(("gross", "net", "vat"), [(1000, 826, 174), (299, 247, 52), (3999, 3305, 694)])
def test_vat_split_known_values(gross: int, net: int, vat: int) -> None:
    split = split_vat(Money(gross, "EUR"))
    assert (split.net.amount_minor, split.vat.amount_minor) == (net, vat)
