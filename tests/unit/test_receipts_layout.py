"""Receipt columns as a thermal printer counts them: a CJK character is two columns, lines never overflow."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.services.receipts.layout import (
    NARROW_58MM,
    WIDE_80MM,
    Block,
    Kind,
    char_width,
    lay_out,
    pair,
    text_width,
    wrap,
)

MIXED = st.text(alphabet=st.sampled_from("ab cdéü€1 2汉字充值\uff0c\u3002-"), max_size=200)


def test_cjk_characters_take_two_columns_accents_none() -> None:
    assert [char_width(c) for c in "a汉\uff0c€"] == [1, 2, 2, 1]
    assert text_width("e\u0301") == 1  # e + combining acute
    assert text_width("充值 1234") == 9


@given(text=MIXED, width=st.sampled_from([WIDE_80MM, NARROW_58MM, 8]))
def test_wrapped_lines_fit_and_keep_every_character(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(text_width(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_words_are_not_cut_when_they_fit_on_the_next_line() -> None:
    assert wrap("Orange Go Prepaid unlimited calls and data", 20) == [
        "Orange Go Prepaid",
        "unlimited calls and",
        "data",
    ]
    assert wrap("1234567890ABCDEFGHIJ", 8) == ["12345678", "90ABCDEF", "GHIJ"]


def test_chinese_breaks_between_characters_never_inside_one() -> None:
    lines = wrap("预付费二十欧元话费套餐无限流量", 9)  # odd width: a wide character may not straddle
    assert lines == ["预付费二", "十欧元话", "费套餐无", "限流量"]


def test_a_pair_that_does_not_fit_puts_the_value_right_aligned_below() -> None:
    assert pair("Total", "€20.00", 20) == ["Total         €20.00"]
    long_plan = pair("Plan", "Orange Go 预付费 20 欧元话费 无限通话", 32)
    assert long_plan[0] == "Plan"
    assert all(text_width(line) == 32 for line in long_plan[1:])
    assert "".join(long_plan[1:]).replace(" ", "") == "OrangeGo预付费20欧元话费无限通话"


def test_big_lines_get_half_the_columns_and_a_pin_splits_evenly() -> None:
    lines = lay_out([Block(Kind.PIN, "1234 5678 9012 3456 78")], NARROW_58MM)
    assert [line.text.strip() for line in lines] == ["1234 5678 9012", "3456 78"]
    assert all(line.big and text_width(line.text) <= NARROW_58MM // 2 for line in lines)
    lines = lay_out([Block(Kind.PIN, "1234 5678 9012 34")], NARROW_58MM)  # 17 columns: split evenly
    assert [line.text.strip() for line in lines] == ["1234 5678", "9012 34"]
    lines = lay_out([Block(Kind.PIN, "1234 5678 9012 34")], WIDE_80MM)
    assert [line.text.strip() for line in lines] == ["1234 5678 9012 34"]


def test_only_the_two_paper_widths_are_laid_out() -> None:
    with pytest.raises(ValueError, match="42 or 32"):
        lay_out([Block(Kind.RULE)], 40)
