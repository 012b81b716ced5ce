"""The plain-text receipt: in the customer's language, the right amounts, the PIN and the three real ways to
redeem it (the SMS command the SMS parser reads, the USSD code the USSD channel answers, the web page)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime

import pytest
from django.urls import resolve
from hypothesis import given, settings
from hypothesis import strategies as st

from topup.channels.ussd import DIRECT_REDEEM
from topup.domain.commands import CommandKind, parse
from topup.domain.money import Money
from topup.domain.receipts import ChangeAs, Payment, PinCode, ReceiptKind, Tender
from topup.services.receipts import render_text
from topup.services.receipts.content import REDEEM_PATH, group_pin, redeem_url
from topup.services.receipts.layout import NARROW_58MM, WIDE_80MM, text_width
from topup.services.receipts.sample import SAMPLE_PIN, SAMPLE_SERIAL, sample_receipt
from topup.settings import CONFIG

LANGUAGES = ("en", "nl", "fr", "de", "zh-hans")
TOTAL_WORD = {"en": "Total", "nl": "Totaal", "fr": "Total", "de": "Gesamt", "zh-hans": "合计"}
VOID_WORD = {"en": "VOID", "nl": "GEANNULEERD", "fr": "ANNULÉ", "de": "STORNIERT", "zh-hans": "已作废"}


@pytest.mark.parametrize("width", [WIDE_80MM, NARROW_58MM])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_renders_within_the_paper(language: str, width: int) -> None:
    text = render_text(sample_receipt(language), width=width)
    assert TOTAL_WORD[language] in text
    assert "Nachtwinkel De Zon" in text.replace("\n", " ").replace("  ", " ") or width == NARROW_58MM
    assert "BE0123456749" in text
    assert all(text_width(line) <= width for line in text.splitlines())


def test_a_pin_receipt_has_the_pin_serial_expiry_and_three_ways_to_redeem() -> None:
    text = render_text(sample_receipt("en"))
    assert group_pin(SAMPLE_PIN) == "1234 5678 9012 34"
    assert "1234 5678 9012 34" in text
    assert SAMPLE_SERIAL in text
    assert "Valid until" in text
    assert "4 Dec 2027" in text
    assert f"By SMS to {CONFIG.sms_short_code}:" in text
    assert redeem_url() in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sms_command_printed_is_one_the_sms_channel_redeems(language: str) -> None:
    text = render_text(sample_receipt(language))
    command_line = next(line for line in text.splitlines() if line.strip().endswith(SAMPLE_PIN)
                        and not line.strip().startswith("*"))  # fmt: skip
    command = parse(command_line.strip())
    assert command.kind is CommandKind.TOPUP
    assert command.argument == SAMPLE_PIN
    assert command.keyword_language in {language, None}


def test_the_ussd_code_printed_is_the_one_the_ussd_channel_redeems() -> None:
    text = render_text(sample_receipt("de"))
    code = next(line.strip() for line in text.splitlines() if line.strip().startswith("*121*"))
    match = DIRECT_REDEEM.fullmatch(code)
    assert match is not None
    assert match.group(1) == SAMPLE_PIN


def test_the_redeem_page_printed_is_served_by_the_web_channel() -> None:
    assert redeem_url() == CONFIG.public_url + REDEEM_PATH
    assert resolve(REDEEM_PATH).url_name == "web-voucher"


@pytest.mark.parametrize(
    ("language", "net", "vat", "total"),
    [
        ("en", "16,53 €", "3,47 €", "20,00 €"),  # English as written in Belgium (en_BE)
        ("nl", "€ 16,53", "€ 3,47", "€ 20,00"),
        ("fr", "16,53 €", "3,47 €", "20,00 €"),
        ("de", "16,53 €", "3,47 €", "20,00 €"),
        ("zh-hans", "€16.53", "€3.47", "€20.00"),
    ],
)
def test_net_vat_and_total_as_given_in_the_customers_format(
    language: str, net: str, vat: str, total: str
) -> None:
    lines = render_text(sample_receipt(language)).splitlines()
    amounts = [line.split("  ")[-1].strip() for line in lines if "21" in line and "%" in line]
    assert amounts == [vat]
    text = "\n".join(lines)
    assert net in text
    assert total in text


def test_net_and_vat_must_add_up_to_the_total() -> None:
    with pytest.raises(ValueError, match="add up"):
        dataclasses.replace(sample_receipt("en"), vat=Money(300, "EUR"))


def test_time_is_printed_in_brussels_summer_and_winter() -> None:
    winter = sample_receipt("nl")  # 17:45 UTC on 4 December is 18:45 in Brussels (CET)
    summer = dataclasses.replace(winter, at=datetime(2026, 7, 1, 16, 45, tzinfo=UTC))  # CEST
    assert "18:45" in render_text(winter)
    assert "18:45" in render_text(summer)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_void_says_void_and_the_dead_pin_is_not_printed(language: str) -> None:
    data = sample_receipt(language, ReceiptKind.VOID)
    text = render_text(data)
    assert VOID_WORD[language] in text
    assert "Customer changed their mind" in text
    assert SAMPLE_SERIAL in text
    assert SAMPLE_PIN not in text.replace(" ", "")


def test_a_refund_says_refund_with_the_reason_and_the_amount_handed_back() -> None:
    data = dataclasses.replace(
        sample_receipt("en", ReceiptKind.REFUND, pin_sale=False), reason="Not delivered by the operator"
    )
    text = render_text(data)
    assert "REFUND" in text
    assert "Not delivered by the operator" in text
    handed_back = next(line for line in text.splitlines() if line.startswith("Handed back to you"))
    assert handed_back.endswith("20,00 €")
    assert "Paid back by" in text
    assert "Cash given" not in text


def test_a_direct_top_up_shows_the_masked_number_and_no_pin() -> None:
    text = render_text(sample_receipt("fr", pin_sale=False))
    assert "Numéro rechargé" in text
    assert "+32 470 ** ** 56" in text
    assert "PIN" not in text
    assert f"{CONFIG.public_url}/my" in text


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-hans", "您的 eSIM 及流量"), ("fr", "Vos eSIM")],
)
def test_an_esim_without_a_number_is_sent_to_my_esims_not_to_my_line(language: str, words: str) -> None:
    """ "My line" signs in by SMS to a number such an eSIM does not have; "My eSIMs" by an e-mailed code."""
    esim = dataclasses.replace(
        sample_receipt(language, pin_sale=False), msisdn_masked="eSIM ICCID ****2120", esim_only=True
    )
    text = render_text(esim)
    assert words in text
    assert f"{CONFIG.public_url}/my/esims" in text
    assert not re.search(rf"{re.escape(CONFIG.public_url)}/my(?!/esims)", text), text
    assert resolve("/my/esims").url_name == "web-my-esims"


def test_change_given_as_credit_or_as_a_voucher_pin() -> None:
    base = sample_receipt("en", pin_sale=False)
    credit = Payment(Tender.CASH, Money(5000, "EUR"), Money(3000, "EUR"), ChangeAs.CREDIT)
    assert "added as credit" in render_text(dataclasses.replace(base, payment=credit))
    change_pin = PinCode("98765432109876", "OR-20261204-000043", date(2027, 12, 4))
    voucher = Payment(Tender.CASH, Money(5000, "EUR"), Money(3000, "EUR"), ChangeAs.VOUCHER, change_pin)
    text = render_text(dataclasses.replace(base, payment=voucher))
    assert "9876 5432 1098 76" in text
    assert "OR-20261204-000043" in text
    assert "TOPUP 98765432109876" in text  # a direct top-up's receipt tells how to use the change PIN
    assert "*121*98765432109876#" in text
    on_a_pin_sale = render_text(dataclasses.replace(sample_receipt("en"), payment=voucher))
    assert on_a_pin_sale.count("How to top up with this PIN:") == 1


def test_a_card_payment_has_no_cash_lines() -> None:
    data = dataclasses.replace(sample_receipt("de"), payment=Payment(Tender.CARD))
    text = render_text(data)
    assert "Karte" in text
    assert "Rückgeld" not in text


def test_a_long_plan_name_wraps_under_its_label() -> None:
    long_name = "Orange Go Extra unlimited calls, texts and 50 GB of data in Belgium and Europe"
    text = render_text(dataclasses.replace(sample_receipt("en"), plan_name=long_name), width=NARROW_58MM)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line == "Plan")
    plan_lines = lines[start + 1 : start + 4]
    assert " ".join(line.strip() for line in plan_lines) == long_name
    assert all(len(line) == NARROW_58MM for line in plan_lines)


def test_a_reprint_without_the_pin_says_so_and_shows_how_to_redeem_around_it() -> None:
    sold = sample_receipt("en")
    assert sold.pin is not None
    reprint = dataclasses.replace(sold, pin=dataclasses.replace(sold.pin, pin="\u2022\u2022\u2022\u2022"))
    text = render_text(reprint)
    assert "The PIN is printed on the first receipt only." in " ".join(text.split())
    assert "\u2022" not in text
    assert SAMPLE_SERIAL in text
    assert "TOPUP PIN" in text
    assert "*121*PIN#" in text


NAMES = st.text(
    alphabet=st.sampled_from("Aa\u00e9\u20ac 0123-\u6c49\u5b57\u8bdd\u8d39\uff0c/"), min_size=1, max_size=90
)


@settings(max_examples=60, deadline=None)
@given(plan=NAMES, shop=NAMES, reason=NAMES, width=st.sampled_from([WIDE_80MM, NARROW_58MM]))
def test_any_names_stay_within_the_paper(plan: str, shop: str, reason: str, width: int) -> None:
    data = sample_receipt("zh-hans", ReceiptKind.REFUND)
    data = dataclasses.replace(
        data, plan_name=plan, reason=reason, seller=dataclasses.replace(data.seller, name=shop)
    )
    lines = render_text(data, width=width).splitlines()
    assert all(text_width(line) <= width for line in lines)
    squeezed = "".join(line.strip() for line in lines).replace(" ", "")
    assert plan.replace(" ", "") in squeezed
