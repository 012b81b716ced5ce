"""Parsing and validation of line identifiers: MSISDN (E.164), ICCID, EID, IMSI, eSIM activation codes, and
the customer's e-mail address.

Every parser returns the canonical form or raises `InvalidInput` with a stable code and field.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from encodings import idna
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType, carrier

from topup.domain.errors import InvalidInput

BELGIAN_COUNTRY_CODE: Final = 32
BELGIAN_MCC: Final = "206"

# What a person may type around the digits of a phone number; letters (vanity numbers, "ext") are refused.
_MSISDN_CHARS = re.compile(r"\+?[0-9 ./()\-\u00a0]{1,40}")
_DIGITS = re.compile(r"[0-9]+")
_ICCID = re.compile(r"89[0-9]{16,18}")
_EID = re.compile(r"[0-9]{32}")
_IMSI = re.compile(r"[2-7][0-9]{14}")
_OID = re.compile(r"[0-2](\.[0-9]+)+")
_AC_PART = re.compile(r"[^$\s]+")  # non-empty, no "$" delimiter and no whitespace

# Names returned by phonenumbers 9.0.43 for Belgian mobile ranges, mapped to our network ids. Ranges first
# held by BASE (0483-0489) are reported as "Telenet", which owns BASE; see `quotes.networks_compatible`.
RANGE_HOLDER_NETWORKS: Final[dict[str, str]] = {
    "Proximus": "proximus",
    "Orange": "orange",
    "Base": "base",
    "BASE": "base",
    "Telenet": "telenet",
    "Lycamobile": "lycamobile",
    "VOO": "voo",
    "DIGI Communications": "digi",
    "Citymesh": "citymesh",
    "Vectone": "vectone",
}

# MCC 206 (Belgium): MNC -> our network id.
BELGIAN_MNC_NETWORKS: Final[dict[str, str]] = {
    "01": "proximus",
    "10": "orange",
    "20": "base",
    "05": "telenet",
    "06": "lycamobile",
    "08": "voo",
    "12": "digi",
}

# North American MCCs use 3-digit MNCs; elsewhere (Europe included) the MNC has 2 digits.
_THREE_DIGIT_MNC_MCCS: Final = frozenset({"302", "310", "311", "312", "313", "314", "315", "316"})


def _invalid(message: str, code: str, field: str) -> InvalidInput:
    return InvalidInput(message, code=code, field=field)


def ascii_digits(text: str) -> str:
    """`text` as typed on any keyboard, its digits made ASCII: NFKC folds full-width forms (digits, the plus
    sign, the ideographic space) and every other Unicode decimal digit (Arabic-Indic, Devanagari…) becomes
    0-9, so the parsers below see what the customer meant."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in folded)


def _strip_spaces(text: str) -> str:
    return "".join(ascii_digits(text).split())


# --- MSISDN -----------------------------------------------------------------------------------------------


def _parse_number(text: str, region: str) -> PhoneNumber:
    cleaned = ascii_digits(text).strip()
    if not cleaned:
        raise _invalid("no number was given", "msisdn_required", "msisdn")
    if not _MSISDN_CHARS.fullmatch(cleaned):
        raise _invalid(f"not a phone number: {text!r}", "invalid_msisdn", "msisdn")
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as exc:
        raise _invalid(f"not a phone number: {text!r}", "invalid_msisdn", "msisdn") from exc
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        raise _invalid(f"not a valid phone number: {text!r}", "invalid_msisdn", "msisdn")
    return number


def parse_msisdn(text: str, region: str = "BE") -> str:
    """Parse a phone number as typed (national for `region`, or international) into E.164."""
    return phonenumbers.format_number(_parse_number(text, region), PhoneNumberFormat.E164)


def parse_belgian_mobile(text: str) -> str:
    """Parse a Belgian mobile number (+32 4xx) into E.164, saying precisely why another number is refused."""
    number = _parse_number(text, "BE")
    if number.country_code != BELGIAN_COUNTRY_CODE:
        raise _invalid(f"not a Belgian number: {text!r}", "not_a_belgian_number", "msisdn")
    if phonenumbers.number_type(number) not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise _invalid(f"not a mobile number: {text!r}", "not_a_mobile_number", "msisdn")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def range_holder_name(e164: str) -> str:
    """The operator name phonenumbers gives for the number's range ('' when unknown or unparsable)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    return str(carrier.name_for_number(number, "en"))


# BASE's own blocks (+32 483-489): phonenumbers names their current owner, Telenet, but BASE is still the
# prepaid brand and gateway that serves them, as the carrier simulator also holds.
BASE_RANGES = tuple(f"+3248{d}" for d in range(3, 10))


def range_holder(e164: str) -> str | None:
    """Our network id for the operator that first held the number's range: only a guess (portability)."""
    network = RANGE_HOLDER_NETWORKS.get(range_holder_name(e164))
    if network == "telenet" and e164.startswith(BASE_RANGES):
        return "base"
    return network


# --- Luhn, ICCID, EID -------------------------------------------------------------------------------------


def _require_digits(digits: str, what: str) -> None:
    if not _DIGITS.fullmatch(digits):
        raise ValueError(f"{what} must be ASCII digits, got {digits!r}")


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit to append to `digits` (the payload without its check digit)."""
    _require_digits(digits, "Luhn payload")
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: these become the odd positions once the check digit is appended
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(digits: str) -> bool:
    """True when the last digit of `digits` is the Luhn check digit of the ones before it."""
    if not _DIGITS.fullmatch(digits) or len(digits) < 2:
        return False
    return luhn_check_digit(digits[:-1]) == digits[-1]


def parse_iccid(text: str) -> str:
    """Parse an ICCID (E.118): spaces and a trailing `F` pad removed, 18-20 digits, `89…`, Luhn valid."""
    cleaned = _strip_spaces(text).upper()
    if cleaned.endswith("F"):
        cleaned = cleaned[:-1]
    if not _ICCID.fullmatch(cleaned):
        raise _invalid(f"not an ICCID: {text!r}", "invalid_iccid", "iccid")
    if not luhn_valid(cleaned):
        raise _invalid(f"ICCID check digit is wrong: {text!r}", "invalid_iccid", "iccid")
    return cleaned


def eid_check_digits(first30: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits that complete a 30-digit EID prefix."""
    _require_digits(first30, "EID prefix")
    if len(first30) != 30:
        raise ValueError(f"EID prefix must have 30 digits, got {len(first30)}")
    return f"{98 - int(first30 + '00') % 97:02d}"


def parse_eid(text: str) -> str:
    """Parse an eUICC identifier (SGP.29): 32 digits whose integer value mod 97 is 1."""
    cleaned = _strip_spaces(text)
    if not _EID.fullmatch(cleaned) or int(cleaned) % 97 != 1:
        raise _invalid(f"not a valid EID: {text!r}", "invalid_eid", "eid")
    return cleaned


# --- IMSI -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Imsi:
    mcc: str
    mnc: str
    msin: str
    value: str

    @property
    def network_id(self) -> str | None:
        """Our network id for a Belgian IMSI (MCC 206), None for an unknown MNC or a foreign network."""
        if self.mcc != BELGIAN_MCC:
            return None
        return BELGIAN_MNC_NETWORKS.get(self.mnc)


def parse_imsi(text: str) -> Imsi:
    """Parse a 15-digit IMSI into MCC, MNC (2 digits, 3 for North America) and MSIN."""
    cleaned = _strip_spaces(text)
    if not _IMSI.fullmatch(cleaned):
        raise _invalid(f"not an IMSI: {text!r}", "invalid_imsi", "imsi")
    mcc = cleaned[:3]
    mnc_end = 6 if mcc in _THREE_DIGIT_MNC_MCCS else 5
    return Imsi(mcc=mcc, mnc=cleaned[3:mnc_end], msin=cleaned[mnc_end:], value=cleaned)


# --- eSIM activation code (SGP.22 §4.1) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivationCode:
    smdp_address: str
    matching_id: str
    oid: str | None = None
    confirmation_code_required: bool = False

    def __post_init__(self) -> None:
        for name, part in (("SM-DP+ address", self.smdp_address), ("matching id", self.matching_id)):
            if not _AC_PART.fullmatch(part):
                raise _invalid(f"invalid {name} {part!r}", "invalid_activation_code", "activation_code")
        if self.oid is not None and not _OID.fullmatch(self.oid):
            raise _invalid(f"invalid OID {self.oid!r}", "invalid_activation_code", "activation_code")

    def to_string(self) -> str:
        """`1$<address>$<matching id>[$<OID>[$1]]`; with a confirmation code but no OID it ends `$$1`."""
        parts = ["1", self.smdp_address, self.matching_id]
        if self.oid is not None or self.confirmation_code_required:
            parts.append(self.oid or "")
        if self.confirmation_code_required:
            parts.append("1")
        return "$".join(parts)

    def qr_payload(self) -> str:
        """The text to encode in the QR code (byte mode)."""
        return "LPA:" + self.to_string()


def parse_activation_code(text: str) -> ActivationCode:
    """Parse an activation code, with or without its `LPA:` prefix, keeping only canonical forms."""
    cleaned = text.strip()
    if cleaned[:4].upper() == "LPA:":
        cleaned = cleaned[4:]
    parts = cleaned.split("$")
    if parts[0] != "1" or not 3 <= len(parts) <= 5:
        raise _invalid(f"not an activation code: {text!r}", "invalid_activation_code", "activation_code")
    oid: str | None = None
    confirmation = False
    if len(parts) == 5:
        if parts[4] != "1":
            raise _invalid(f"bad confirmation flag in {text!r}", "invalid_activation_code", "activation_code")
        confirmation = True
    if len(parts) >= 4:
        oid = parts[3] or None
        if oid is None and not confirmation:  # "1$A$M$" is not canonical
            raise _invalid(f"empty OID in {text!r}", "invalid_activation_code", "activation_code")
    return ActivationCode(parts[1], parts[2], oid, confirmation)


# --- e-mail address -----------------------------------------------------------------------------------------

MAX_EMAIL_LENGTH: Final = 254  # RFC 5321's path limit, less the angle brackets
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# An address in its ASCII form, as the API documents it (channels/api/openapi.EMAIL): a dot-atom local part,
# then LDH labels, the last one starting with a letter (no IP addresses).
EMAIL_PATTERN: Final = rf"{_ATOM}(\.{_ATOM})*@({_LABEL}\.)+{_TOP_LABEL}"
_EMAIL = re.compile(EMAIL_PATTERN)


def _invalid_email(message: str) -> InvalidInput:
    return _invalid(message, "invalid_email", "email")


def _domain_forms(domain: str) -> tuple[str, str]:
    """The domain in its ASCII (IDNA) form and in its Unicode form, both lower case."""
    ascii_labels, unicode_labels = [], []
    for label in domain.split("."):
        try:
            ascii_label = idna.ToASCII(label).decode("ascii").lower() if label else ""
            unicode_labels.append(idna.ToUnicode(ascii_label).lower())
        except UnicodeError:
            raise _invalid_email(f"{label!r} is not a valid domain label") from None
        ascii_labels.append(ascii_label)
    return ".".join(ascii_labels), ".".join(unicode_labels)


def parse_email(text: str) -> str:
    """An e-mail address in its canonical form: lower case, the domain in Unicode (`li@例子.中国`).

    Full-width characters typed on a Chinese keyboard (U+FF20 at sign, U+FF0E dot) count as their ASCII
    twins (NFKC). The local part is plain ASCII (a relay without SMTPUTF8 could not deliver anything else);
    the domain may be Unicode, checked and sent in its IDNA form. Quoted local parts and IP-address domains
    are refused; the address has at most 254 characters in its ASCII form.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip()
    local, at, domain = cleaned.rpartition("@")
    if not at or not local or not domain or len(cleaned) > MAX_EMAIL_LENGTH:
        raise _invalid_email("an e-mail address looks like name@example.com, in 254 characters at most")
    ascii_domain, unicode_domain = _domain_forms(domain)
    ascii_form = f"{local}@{ascii_domain}"
    if len(ascii_form) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(ascii_form):
        raise _invalid_email("not an e-mail address such as name@example.com")
    return f"{local.lower()}@{unicode_domain}"
