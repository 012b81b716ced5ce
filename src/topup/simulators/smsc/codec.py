"""Text side of short messages for the SMSC simulator: GSM 03.38 (unpacked, one septet per octet, as SMPP
carries it), Latin-1 and UCS-2; splitting a text into concatenated parts and reading the parts' UDH back.

Written independently of the platform's SMPP client on purpose, so that a mismatch between the two shows up
in tests instead of cancelling out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DC_GSM: Final = 0
DC_LATIN1: Final = 3
DC_UCS2: Final = 8
ESC: Final = 0x1B

# GSM 03.38 basic character set, index = septet value (0x1B is the escape to the extension table).
_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION: Final = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
                     0x3E: "]", 0x40: "|", 0x65: "€"}  # fmt: skip
_ENCODE: Final = {char: bytes([code]) for code, char in enumerate(_BASIC) if code != ESC} | {
    char: bytes([ESC, code]) for code, char in _EXTENSION.items()
}

SINGLE_GSM_SEPTETS: Final = 160
PART_GSM_SEPTETS: Final = 153  # 160 less the 6-octet (7-septet) concatenation UDH
SINGLE_UCS2_OCTETS: Final = 140
PART_UCS2_OCTETS: Final = 134  # 140 less the 6-octet UDH; even, so no UTF-16 unit is cut


def is_gsm(text: str) -> bool:
    return all(char in _ENCODE for char in text)


def gsm_encode(text: str) -> bytes:
    return b"".join(_ENCODE[char] for char in text)


def gsm_decode(data: bytes) -> str:
    chars: list[str] = []
    escaped = False
    for octet in data:
        if escaped:
            chars.append(_EXTENSION.get(octet, " "))
            escaped = False
        elif octet == ESC:
            escaped = True
        else:
            chars.append(_BASIC[octet] if octet < len(_BASIC) else "?")
    if escaped:  # an escape with nothing after it, as a phone shows a part that ends with one
        chars.append(" ")
    return "".join(chars)


def decode(data: bytes, data_coding: int) -> str:
    if data_coding == DC_UCS2:
        return data.decode("utf-16-be", errors="replace")
    if data_coding == DC_GSM:
        return gsm_decode(data)
    return data.decode("latin-1")


def encode_parts(text: str) -> tuple[int, list[bytes]]:
    """The data_coding and the encoded parts (without UDH) of `text`: GSM when every character has a
    GSM 03.38 code, UCS-2 otherwise; split on characters so no escape sequence or surrogate pair is cut."""
    if is_gsm(text):
        encoded = [_ENCODE[char] for char in text]
        single, part = SINGLE_GSM_SEPTETS, PART_GSM_SEPTETS
        coding = DC_GSM
    else:
        encoded = [char.encode("utf-16-be") for char in text]
        single, part = SINGLE_UCS2_OCTETS, PART_UCS2_OCTETS
        coding = DC_UCS2
    if sum(len(chunk) for chunk in encoded) <= single:
        return coding, [b"".join(encoded)]
    parts: list[bytes] = []
    current = b""
    for chunk in encoded:
        if len(current) + len(chunk) > part:
            parts.append(current)
            current = b""
        current += chunk
    parts.append(current)
    return coding, parts


def concat_udh(reference: int, total: int, number: int) -> bytes:
    """A user data header with the 8-bit concatenation element (IEI 0x00)."""
    return bytes([0x05, 0x00, 0x03, reference & 0xFF, total, number])


@dataclass(frozen=True)
class Segment:
    reference: int
    total: int
    number: int


def split_udh(payload: bytes) -> tuple[Segment | None, bytes]:
    """The concatenation element of a UDH-prefixed payload (8- or 16-bit reference) and the text after it."""
    if not payload:
        return None, payload
    header_length = payload[0]
    header, body = payload[1 : 1 + header_length], payload[1 + header_length :]
    index = 0
    while index + 2 <= len(header):
        iei, length = header[index], header[index + 1]
        value = header[index + 2 : index + 2 + length]
        if iei == 0x00 and length == 3:
            return Segment(value[0], value[1], value[2]), body
        if iei == 0x08 and length == 4:
            return Segment(int.from_bytes(value[:2], "big"), value[2], value[3]), body
        index += 2 + length
    return None, body
