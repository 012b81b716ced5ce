"""Promo codes in the words of each channel: the SMS grammar (`BUY <plan> [CODE] <promo>` in five languages),
the promotion lines (name in the reader's language, saving, bonus), and a shop receipt that lists them."""

from __future__ import annotations

import dataclasses

import pytest
from django.utils.translation import override
from hypothesis import given
from hypothesis import strategies as st

from tests.support.promotions import CODE, flyer, welcome_bonus
from topup.domain.commands import PROMO_CODE_MAX, CommandKind, parse
from topup.domain.money import Money
from topup.domain.promotions import AppliedPromotion
from topup.services import promotion_text
from topup.services.receipts import render_text
from topup.services.receipts.sample import sample_receipt


@pytest.mark.parametrize(
    ("text", "plan", "promo", "language"),
    [
        ("BUY d7g5", "D7G5", "", None),
        ("BUY d7g5 flyer5", "D7G5", "FLYER5", None),
        ("buy D7G5 CODE flyer5", "D7G5", "FLYER5", None),
        ("koop d7g5 kortingscode flyer5", "D7G5", "FLYER5", "nl"),
        ("ACHAT d7g5 code FLYER5", "D7G5", "FLYER5", "fr"),
        ("kaufen d7g5 Gutschein flyer5", "D7G5", "FLYER5", "de"),
        ("购买D7G5优惠码FLYER5", "D7G5", "FLYER5", "zh-hans"),
        ("购买 d7g5 优惠码 flyer5", "D7G5", "FLYER5", "zh-hans"),
        ("买 d7g5 折扣码flyer5", "D7G5", "FLYER5", "zh-hans"),
        ("BUY d7g5 CODE", "D7G5", "", None),  # the word without a code: no code
        ("BUY", "", "", None),
    ],
)
def test_buy_reads_the_plan_and_the_promo_code(
    text: str, plan: str, promo: str, language: str | None
) -> None:
    command = parse(text)
    assert (command.kind, command.argument, command.promo_code) == (CommandKind.BUY, plan, promo)
    assert command.keyword_language == language


def test_only_buy_carries_a_promo_code() -> None:
    assert parse("TOPUP 1234 5678 9012 3").promo_code == ""
    assert parse("TOPUP 1234 5678 9012 3").argument == "1234567890123"


@given(st.text(max_size=300))
def test_a_promo_code_is_one_word_of_bounded_length(tail: str) -> None:
    command = parse(f"BUY D7G5 {tail}")
    assert command.kind is CommandKind.BUY
    assert len(command.promo_code) <= PROMO_CODE_MAX
    assert not any(char.isspace() for char in command.promo_code)


def _euros(amount: Money) -> str:
    return f"EUR {amount.as_decimal():.2f}"


def test_a_promotion_line_is_named_in_the_reader_language_with_its_saving_or_bonus() -> None:
    with override("zh-hans"):
        [saving, bonus] = promotion_text.lines([flyer(), welcome_bonus()], "zh-hans", _euros)
        assert (saving.name, saving.effect, saving.code) == ("传单优惠 减 5 欧元", "\u2212 EUR 5.00", CODE)
        assert (bonus.name, bonus.effect, bonus.saving) == ("欢迎奖励", "+ 1 GB 流量", None)
    with override("fr"):  # a campaign without a French name keeps its own
        [line] = promotion_text.lines([welcome_bonus()], "fr", _euros, minus="-")
        assert (line.name, line.effect) == ("Welcome bonus", "+ 1 Go de données")
    credit = AppliedPromotion(
        "cmp_x", "bonus_credit", "Reload", Money(0, "EUR"), bonus_credit=Money(200, "EUR")
    )
    with override("nl"):
        assert promotion_text.lines([credit], "nl", _euros)[0].effect == "+ EUR 2.00 beltegoed"


def test_a_shop_receipt_lists_the_price_and_each_promotion_in_chinese() -> None:
    base = sample_receipt("zh-hans", pin_sale=False)
    receipt = dataclasses.replace(base, promotions=(flyer(),))
    assert receipt.price == Money(2500, "EUR")
    text = render_text(receipt)
    assert "传单优惠 减 5 欧元 (FLYER5)" in text
    assert "Flyer" not in text
    assert "价格" in text
    assert "Flyer" not in render_text(dataclasses.replace(base, promotions=()))
    with pytest.raises(ValueError, match="currency"):
        dataclasses.replace(base, promotions=(flyer("CNY"),))
