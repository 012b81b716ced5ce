"""Every vector of reference/identifiers.md, plus properties of the check-digit schemes."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import carrier

from topup.domain.errors import InvalidInput
from topup.domain.identifiers import (
    RANGE_HOLDER_NETWORKS,
    ActivationCode,
    eid_check_digits,
    luhn_check_digit,
    luhn_valid,
    parse_activation_code,
    parse_belgian_mobile,
    parse_eid,
    parse_iccid,
    parse_imsi,
    parse_msisdn,
    range_holder,
)

digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=30)

# --- MSISDN -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("0470 12 34 56", "+32470123456"),
        ("+32 496 12 34 56", "+32496123456"),
        ("0456 00 12 34", "+32456001234"),
        ("+32 470 12 34 56", "+32470123456"),
        ("0032 470 12 34 56", "+32470123456"),
        ("0470.12.34.56", "+32470123456"),
        ("0470-12-34-56", "+32470123456"),
        ("0470/12 34 56", "+32470123456"),
        ("+32470123456", "+32470123456"),
    ],
)
def test_belgian_mobiles_parse_to_e164(text: str, e164: str) -> None:
    assert parse_msisdn(text) == e164
    assert parse_belgian_mobile(text) == e164


@pytest.mark.parametrize(
    "text",
    [
        "+32 470 12 34 5",
        "hello",
        "0470 ABC DEF",
        "+32470123456 ext 5",
        "+32 470 12 34 56 78",
        "++32470123456",
    ],
)
def test_invalid_msisdn(text: str) -> None:
    for parse in (parse_msisdn, parse_belgian_mobile):
        with pytest.raises(InvalidInput) as info:
            parse(text)
        assert (info.value.code, info.value.field) == ("invalid_msisdn", "msisdn")


def test_fixed_line_is_valid_but_not_mobile() -> None:
    assert parse_msisdn("+32 2 226 88 88") == "+3222268888"
    with pytest.raises(InvalidInput) as info:
        parse_belgian_mobile("+32 2 226 88 88")
    assert (info.value.code, info.value.field) == ("not_a_mobile_number", "msisdn")


def test_foreign_number_is_valid_but_not_belgian() -> None:
    assert parse_msisdn("+33 6 12 34 56 78") == "+33612345678"
    assert parse_msisdn("06 12 34 56 78", region="FR") == "+33612345678"
    with pytest.raises(InvalidInput) as info:
        parse_belgian_mobile("+33 6 12 34 56 78")
    assert (info.value.code, info.value.field) == ("not_a_belgian_number", "msisdn")


@pytest.mark.parametrize(
    ("e164", "network"),
    [
        ("+32470123456", "proximus"),
        ("+32456001234", "proximus"),
        ("+32485123456", "base"),
        ("+32468123456", "telenet"),
        ("+32496123456", "orange"),
        ("+32465123456", "lycamobile"),
        ("+32455123456", "voo"),
        ("+32451001234", "digi"),
        ("+3222268888", None),
        ("+32450001234", None),
        ("not a number", None),
    ],
)
def test_range_holder_guesses_the_network(e164: str, network: str | None) -> None:
    assert range_holder(e164) == network


def test_every_belgian_mobile_range_holder_is_mapped_or_known_to_be_ignored() -> None:
    """Fails when a phonenumbers update brings a range-holder name we have not decided about."""
    ignored = {
        "",
        "GATEWAY COMMUNICATIONS S.A.",
        "N.M.B.S.",
        "Lancelot Telecom",
        "Voxbone SA",
        "Join Experience Belgium",
        "Febo Telecom",
        "Interactive Digital Media GmbH",
        "OnOff Télécom SASU",
        "TISMI BV",
        "MessageBird BV",
        "Ericsson NV",
    }
    seen = set()
    for block in range(4500, 5000):
        number = phonenumbers.parse(f"+32{block}00000")
        if phonenumbers.is_valid_number(number):
            seen.add(carrier.name_for_number(number, "en"))
    assert {"Proximus", "Orange", "Telenet"} <= seen
    assert seen - ignored - set(RANGE_HOLDER_NETWORKS) == set()


# --- Luhn, ICCID, EID -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iccid",
    ["8932042000010245583", "8932042000002035349", "89320420000006690703", "8988211000000530082"],
)
def test_valid_iccids(iccid: str) -> None:
    assert parse_iccid(iccid) == iccid
    assert luhn_check_digit(iccid[:-1]) == iccid[-1]


def test_iccid_padding_and_spaces_are_removed() -> None:
    assert parse_iccid("8932 0420 0001 0245 583F") == "8932042000010245583"
    assert parse_iccid("8932042000010245583f") == "8932042000010245583"


@pytest.mark.parametrize(
    "text",
    [
        "8988211000000530081",  # Luhn
        "893204200001024558",  # 18 digits, Luhn wrong once the check digit is cut
        "9932042000010245583",  # does not start with 89
        "89320420000102455",  # 17 digits
        "893204200000066907031",  # 21 digits
        "8932042000010245583FF",
        "89320420000102455X3",
        "",
    ],
)
def test_invalid_iccids(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_iccid(text)
    assert (info.value.code, info.value.field) == ("invalid_iccid", "iccid")


@given(payload=digit_strings)
def test_luhn_check_digit_round_trip(payload: str) -> None:
    full = payload + luhn_check_digit(payload)
    assert luhn_valid(full)
    wrong = str((int(full[-1]) + 1) % 10)
    assert not luhn_valid(full[:-1] + wrong)


@given(payload=st.text(alphabet="0123456789", min_size=2, max_size=30), position=st.integers(0, 29))
def test_luhn_detects_any_single_digit_change(payload: str, position: int) -> None:
    full = payload + luhn_check_digit(payload)
    index = position % len(full)
    changed = full[:index] + str((int(full[index]) + 1) % 10) + full[index + 1 :]
    assert not luhn_valid(changed)


@pytest.mark.parametrize("bad", ["", "12a", "١٢٣"])
def test_luhn_refuses_non_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="ASCII digits"):
        luhn_check_digit(bad)
    assert not luhn_valid(bad)


@pytest.mark.parametrize("eid", ["89049032123451234512345678901235", "89086030202200000022000023022943"])
def test_valid_eids(eid: str) -> None:
    assert parse_eid(eid) == eid
    assert eid_check_digits(eid[:30]) == eid[30:]


@pytest.mark.parametrize(
    "text",
    [
        "89049032123451234512345678901234",
        "8904903212345123451234567890123",
        "8904903212345123451234567890123X",
        "",
    ],
)
def test_invalid_eids(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_eid(text)
    assert (info.value.code, info.value.field) == ("invalid_eid", "eid")


@given(first30=st.text(alphabet="0123456789", min_size=30, max_size=30))
def test_eid_check_digits_round_trip(first30: str) -> None:
    eid = first30 + eid_check_digits(first30)
    assert parse_eid(eid) == eid
    assert int(eid) % 97 == 1
    wrong = f"{(int(eid[30:]) + 1) % 100:02d}"
    with pytest.raises(InvalidInput):
        parse_eid(first30 + wrong)


def test_eid_check_digits_needs_30_digits() -> None:
    with pytest.raises(ValueError, match="30 digits"):
        eid_check_digits("123")


# --- IMSI -------------------------------------------------------------------------------------------------


def test_belgian_imsi() -> None:
    imsi = parse_imsi("206011234567890")
    assert (imsi.mcc, imsi.mnc, imsi.msin, imsi.value) == ("206", "01", "1234567890", "206011234567890")
    assert imsi.network_id == "proximus"


@pytest.mark.parametrize(
    ("mnc", "network"),
    [
        ("01", "proximus"),
        ("10", "orange"),
        ("20", "base"),
        ("05", "telenet"),
        ("06", "lycamobile"),
        ("08", "voo"),
        ("12", "digi"),
        ("99", None),
    ],
)
def test_belgian_mnc_table(mnc: str, network: str | None) -> None:
    assert parse_imsi(f"206{mnc}1234567890").network_id == network


def test_foreign_imsis_have_no_network_and_north_america_has_3_digit_mncs() -> None:
    french = parse_imsi("208011234567890")
    assert (french.mnc, french.network_id) == ("01", None)
    american = parse_imsi("310260123456789")
    assert (american.mcc, american.mnc, american.msin) == ("310", "260", "123456789")


@pytest.mark.parametrize(
    "text", ["20601123456789", "2060112345678901", "20601123456789X", "006011234567890", ""]
)
def test_invalid_imsis(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_imsi(text)
    assert (info.value.code, info.value.field) == ("invalid_imsi", "imsi")


# --- Activation code --------------------------------------------------------------------------------------

ADDRESS = "SMDP.GSMA.COM"
MATCHING = "04386-AGYFT-A74Y8-3F815"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"1${ADDRESS}${MATCHING}", ActivationCode(ADDRESS, MATCHING)),
        (f"1${ADDRESS}${MATCHING}$$1", ActivationCode(ADDRESS, MATCHING, confirmation_code_required=True)),
        (
            f"1${ADDRESS}${MATCHING}$1.3.6.1.4.1.31746$1",
            ActivationCode(ADDRESS, MATCHING, "1.3.6.1.4.1.31746", confirmation_code_required=True),
        ),
        (f"1${ADDRESS}${MATCHING}$1.3.6.1.4.1.31746", ActivationCode(ADDRESS, MATCHING, "1.3.6.1.4.1.31746")),
    ],
)
def test_activation_codes_round_trip(text: str, expected: ActivationCode) -> None:
    assert parse_activation_code(text) == expected
    assert parse_activation_code("LPA:" + text) == expected
    assert expected.to_string() == text
    assert expected.qr_payload() == "LPA:" + text
    assert parse_activation_code(expected.qr_payload()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "LPA:",
        f"2${ADDRESS}${MATCHING}",
        f"1${ADDRESS}",
        f"1$${MATCHING}",
        f"1${ADDRESS}$",
        f"1${ADDRESS}${MATCHING}$",
        f"1${ADDRESS}${MATCHING}$$0",
        f"1${ADDRESS}${MATCHING}$$1$",
        f"1${ADDRESS}${MATCHING}$not-an-oid",
        f"1$SMDP GSMA.COM${MATCHING}",
    ],
)
def test_invalid_activation_codes(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_activation_code(text)
    assert info.value.code == "invalid_activation_code"


@pytest.mark.parametrize(
    ("address", "matching"), [("SMDP$X.COM", MATCHING), (ADDRESS, "04386$AGYFT"), ("", MATCHING)]
)
def test_dollar_or_empty_parts_are_refused_when_building(address: str, matching: str) -> None:
    with pytest.raises(InvalidInput) as info:
        ActivationCode(address, matching)
    assert info.value.code == "invalid_activation_code"
