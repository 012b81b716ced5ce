"""Digits typed on any keyboard (issue #11, item 7): full-width digits from a Chinese keyboard, Arabic-Indic
and other Unicode decimal digits are the digits the customer meant, in phone numbers, ICCIDs, EIDs, voucher
PINs, codes and SMS commands; an empty number asks for one (`msisdn_required`), it is not "invalid"."""

# ruff: noqa: RUF001 - full-width digits and letters are what these tests type, on purpose
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.commands import CommandKind, parse
from topup.domain.errors import InvalidInput
from topup.domain.identifiers import (
    ascii_digits,
    luhn_check_digit,
    parse_belgian_mobile,
    parse_iccid,
    parse_msisdn,
)
from topup.domain.vouchers import checked_pin, normalise_pin

# Every Unicode block with the ten decimal digits 0-9 in a row, by the code point of its zero.
ZEROS = sorted(
    code
    for code in range(0x110000)
    if unicodedata.category(chr(code)) == "Nd" and unicodedata.decimal(chr(code)) == 0
)


def in_script(digits: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) if d.isdigit() else d for d in digits)


FULL_WIDTH = 0xFF10
ARABIC_INDIC = 0x0660


@pytest.mark.parametrize("zero", [FULL_WIDTH, ARABIC_INDIC, 0x06F0, 0x0966])
def test_a_belgian_mobile_in_other_digits_is_that_number(zero: int) -> None:
    typed = in_script("0470 12 34 56", zero)
    assert parse_belgian_mobile(typed) == "+32470123456"
    assert parse_msisdn(in_script("+32 470 12 34 56", zero)) == "+32470123456"


def test_the_chinese_keyboards_full_width_plus_and_space_are_folded() -> None:
    assert parse_belgian_mobile("＋３２　４７０　１２３４５６") == "+32470123456"
    assert parse_belgian_mobile("０４７０ １２ ３４ ５６") == "+32470123456"


@pytest.mark.parametrize("text", ["", "   ", "\u3000", "\t\n"])
def test_an_empty_number_asks_for_one(text: str) -> None:
    for parser in (parse_msisdn, parse_belgian_mobile):
        with pytest.raises(InvalidInput) as info:
            parser(text)
        assert (info.value.code, info.value.field) == ("msisdn_required", "msisdn")


def test_letters_stay_refused_whatever_the_width() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_belgian_mobile("０４７０ ＡＢＣ ＤＥＦ")
    assert info.value.code == "invalid_msisdn"


@given(st.integers(min_value=0, max_value=99_999_999), st.sampled_from(ZEROS))
def test_any_decimal_digits_read_as_their_ascii_value(number: int, zero: int) -> None:
    text = str(number)
    assert ascii_digits(in_script(text, zero)) == text


@given(st.integers(min_value=0, max_value=999_999), st.sampled_from(ZEROS))
def test_a_mobile_number_parses_the_same_in_every_script(rest: int, zero: int) -> None:
    national = f"0470{rest:06d}"
    assert parse_belgian_mobile(in_script(national, zero)) == parse_belgian_mobile(national)


@given(st.text(max_size=30))
def test_folding_is_idempotent_and_leaves_ascii_alone(text: str) -> None:
    once = ascii_digits(text)
    assert ascii_digits(once) == once
    assert all(c.isascii() for c in once if c.isdecimal())  # no digit left outside 0-9
    ascii_only = "".join(c for c in text if c.isascii())
    assert ascii_digits(ascii_only) == ascii_only


def test_iccid_and_voucher_pin_in_full_width_digits() -> None:
    body = "8932" + "0" * 14
    iccid = body + luhn_check_digit(body)
    assert parse_iccid(in_script(iccid, FULL_WIDTH)) == iccid
    payload = "12345678901234"
    pin = payload + luhn_check_digit(payload)
    typed = in_script(f"{pin[:5]} {pin[5:10]} {pin[10:]}", FULL_WIDTH)
    assert normalise_pin(typed) == pin
    assert checked_pin(typed) == pin
    assert checked_pin(in_script(pin, ARABIC_INDIC)) == pin


def test_sms_commands_in_full_width() -> None:
    command = parse("ＴＯＰＵＰ　１２３４５")
    assert (command.kind, command.argument) == (CommandKind.TOPUP, "12345")
    assert parse("充值１２３４５").argument == "12345"
    assert parse("ＢＡＬ").kind is CommandKind.BALANCE
