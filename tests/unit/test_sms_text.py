"""How the ESME cuts a long SMS and writes addresses: every part decodes on its own to its share of the text
(no GSM 03.38 escape or UTF-16 surrogate pair cut in two); numbers go out international whatever their format.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from topup.adapters.messaging.smpp import (
    TON_INTERNATIONAL,
    TON_NATIONAL,
    TON_NETWORK_SPECIFIC,
    TON_UNKNOWN,
    destination,
    international_sender,
)
from topup.adapters.messaging.sms_text import (
    DC_GSM,
    DC_UCS2,
    ESC,
    ESM_UDHI,
    MessageTooLong,
    decode_gsm,
    split_text,
)

EXTENSION = "€[]{}~^|\\"
EMOJI = "😀👍🇧🇪🎉"
GSM_TEXT = st.text(alphabet=st.sampled_from(f"abc XYZ019.,é@£{EXTENSION}"), max_size=700)
MIXED_TEXT = st.text(alphabet=st.sampled_from(f"ab {EXTENSION}{EMOJI}余额é"), max_size=400)


def _bodies(text: str) -> tuple[int, list[bytes]]:
    """The data coding and each part's text octets, after checking the parts' UDH and sizes."""
    coding, parts, esm_class = split_text(text, reference=0x42)
    if esm_class == 0:
        assert len(parts) == 1
        return coding, parts
    assert esm_class == ESM_UDHI
    assert len(parts) >= 2
    bodies = []
    for number, part in enumerate(parts, start=1):
        assert part[:6] == bytes([0x05, 0x00, 0x03, 0x42, len(parts), number])
        bodies.append(part[6:])
        assert len(part) <= (6 + 153 if coding == DC_GSM else 140)
    return coding, bodies


def _decode_alone(body: bytes, coding: int) -> str:
    if coding == DC_GSM:
        return decode_gsm(body)  # a dangling escape reads as a space: the join below would differ
    assert len(body) % 2 == 0
    return body.decode("utf-16-be")  # strict: a lone surrogate raises


@settings(max_examples=300, deadline=None)
@given(st.one_of(GSM_TEXT, MIXED_TEXT))
@example("a" * 152 + "€" + "b" * 10)  # the € would straddle parts 1 and 2
@example("余" * 66 + "😀" + "余" * 10)  # the emoji's surrogate pair would straddle the 134-octet boundary
@example("[" * 200)
def test_every_part_decodes_alone_to_its_share_of_the_text(text: str) -> None:
    coding, bodies = _bodies(text)
    decoded = [_decode_alone(body, coding) for body in bodies]
    assert "".join(decoded) == text
    assert all(decoded[:-1])  # no empty part


@settings(max_examples=200, deadline=None)
@given(GSM_TEXT)
def test_gsm_parts_are_full_but_for_the_last(text: str) -> None:
    coding, bodies = _bodies(text)
    assert coding == DC_GSM
    septets = sum(2 if char in EXTENSION else 1 for char in text)
    if septets <= 160:
        assert len(bodies) == 1
        return
    for body in bodies[:-1]:
        assert len(body) in {152, 153}  # 152 only when the next character is a 2-septet escape


def test_a_euro_at_the_boundary_moves_whole_to_the_next_part() -> None:
    coding, bodies = _bodies("a" * 152 + "€" + "b" * 10)
    assert coding == DC_GSM
    assert bodies[0] == b"a" * 152
    assert bodies[1] == bytes([ESC, 0x65]) + b"b" * 10


def test_an_emoji_stays_whole_in_ucs2() -> None:
    coding, bodies = _bodies("余" * 66 + "😀" + "余" * 10)
    assert coding == DC_UCS2
    assert bodies[0] == ("余" * 66).encode("utf-16-be")
    assert bodies[1].startswith("😀".encode("utf-16-be"))


def test_a_text_that_fits_is_one_part_without_udh() -> None:
    assert split_text("€" * 80) == (DC_GSM, [bytes([ESC, 0x65]) * 80], 0)
    assert split_text("😀" * 35) == (DC_UCS2, ["😀".encode("utf-16-be") * 35], 0)


def test_more_than_255_parts_is_refused() -> None:
    with pytest.raises(MessageTooLong):
        split_text("a" * 153 * 256)


@pytest.mark.parametrize(
    ("address", "ton", "expected"),
    [
        ("0470123456", TON_UNKNOWN, "+32470123456"),
        ("470123456", TON_NATIONAL, "+32470123456"),
        ("0470123456", TON_NATIONAL, "+32470123456"),
        ("32470123456", TON_INTERNATIONAL, "+32470123456"),
        ("32470123456", TON_UNKNOWN, "+32470123456"),
        ("0032470123456", TON_UNKNOWN, "+32470123456"),
        ("33612345678", TON_INTERNATIONAL, "+33612345678"),
        ("1919", TON_UNKNOWN, "1919"),
        ("1919", TON_NETWORK_SPECIFIC, "1919"),
    ],
)
def test_a_sender_in_any_format_is_read_in_e164(address: str, ton: int, expected: str) -> None:
    assert international_sender(address, ton) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("+32470123456", ("32470123456", TON_INTERNATIONAL)),
        ("0470123456", ("32470123456", TON_INTERNATIONAL)),
        ("+0470123456", ("0470123456", TON_INTERNATIONAL)),
        ("32470123456", ("32470123456", TON_INTERNATIONAL)),
        ("1919", ("1919", TON_NETWORK_SPECIFIC)),
    ],
)
def test_a_destination_goes_out_international_or_as_a_short_code(
    address: str, expected: tuple[str, int]
) -> None:
    assert destination(address) == expected


def test_no_break_spaces_and_approximately_go_as_their_gsm_lookalikes() -> None:
    """Babel writes "10,00\xa0€"; one such space must not turn a receipt into UCS-2 (and twice the parts)."""
    coding, parts, _esm = split_text("Paid 10,00\xa0€ (≈ 78,42\u202fCN¥)")
    assert coding == DC_GSM
    assert decode_gsm(b"".join(parts)) == "Paid 10,00 € (~ 78,42 CN¥)"
    assert split_text("付 ≈ ¥78.42")[0] == DC_UCS2  # not GSM anyway: the text is sent as written
    assert "≈".encode("utf-16-be") in split_text("付 ≈ ¥78.42")[1][0]
