"""Short message text for SMPP: GSM 03.38 (one septet per octet, as SMPP carries it unpacked) or UCS-2, and
the split of a long text into concatenated parts that each phone decodes on its own.

A part never ends inside a character: a GSM 03.38 extension character (`€ [ ] { } ~ ^ | \\` and form feed) is
the escape 0x1B followed by its code, and both stay in one part; a character outside the Basic Multilingual
Plane (most emoji) is a UTF-16 surrogate pair in UCS-2, and both halves stay in one part. Splitting the octets
at a fixed length instead (as smpplib's `make_parts` does) shows `€` as a space and an `e` on the phone.
"""

from __future__ import annotations

from typing import Final

DC_GSM: Final = 0  # SMSC default alphabet: GSM 03.38
DC_UCS2: Final = 8
ESC: Final = 0x1B
ESM_UDHI: Final = 0x40
SINGLE_GSM_SEPTETS: Final = 160
PART_GSM_SEPTETS: Final = 153  # 160 less the 6-octet concatenation UDH (7 septets once packed)
SINGLE_UCS2_OCTETS: Final = 140
PART_UCS2_OCTETS: Final = 134  # 140 less the 6-octet UDH
MAX_PARTS: Final = 255

# GSM 03.38 basic character set, index = septet value; 0x1B is the escape to the extension table.
GSM_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION: Final = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
                        "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip
_GSM_CODES: Final = {char: bytes([code]) for code, char in enumerate(GSM_BASIC) if code != ESC} | {
    char: bytes([ESC, code]) for char, code in GSM_EXTENSION.items()
}
_EXTENSION_CHARS: Final = {code: char for char, code in GSM_EXTENSION.items()}


# What Babel and our wording put in a text that GSM 03.38 lacks, each as the GSM character a phone shows
# alike: without them, one no-break space in "10,00 €" sends the whole text as UCS-2 (70, not 160, a part).
_GSM_LOOKALIKES: Final = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2248": "~"})


class MessageTooLong(ValueError):
    """More than 255 concatenated parts."""


def is_gsm(text: str) -> bool:
    return all(char in _GSM_CODES for char in text)


def decode_gsm(data: bytes) -> str:
    """Unpacked GSM 03.38 octets to text; an unknown extension code or a dangling escape reads as a space,
    as phones show it."""
    chars: list[str] = []
    escaped = False
    for octet in data:
        if escaped:
            chars.append(_EXTENSION_CHARS.get(octet, " "))
            escaped = False
        elif octet == ESC:
            escaped = True
        else:
            chars.append(GSM_BASIC[octet] if octet < len(GSM_BASIC) else "?")
    if escaped:
        chars.append(" ")
    return "".join(chars)


def _encoded_chars(text: str) -> tuple[int, list[bytes]]:
    """The data coding and each character's octets: GSM when every character has a code, else UCS-2."""
    if is_gsm(text):
        return DC_GSM, [_GSM_CODES[char] for char in text]
    return DC_UCS2, [char.encode("utf-16-be") for char in text]  # 4 octets (a pair) above U+FFFF


def concat_udh(reference: int, total: int, number: int) -> bytes:
    """User data header with one concatenation element, 8-bit reference (IEI 0x00)."""
    return bytes([0x05, 0x00, 0x03, reference & 0xFF, total, number])


def split_text(text: str, reference: int = 0) -> tuple[int, list[bytes], int]:
    """(data_coding, short_message of each part, esm_class) for `text`: one part without UDH when it fits,
    else parts carrying a concatenation UDH, each cut between characters, never inside one. A text that is
    GSM but for no-break spaces or "≈" is sent as GSM with their look-alikes."""
    lookalike = text.translate(_GSM_LOOKALIKES)
    coding, chars = _encoded_chars(lookalike if is_gsm(lookalike) else text)
    single, part_size = (
        (SINGLE_GSM_SEPTETS, PART_GSM_SEPTETS) if coding == DC_GSM else (SINGLE_UCS2_OCTETS, PART_UCS2_OCTETS)
    )
    if sum(len(octets) for octets in chars) <= single:
        return coding, [b"".join(chars)], 0
    bodies: list[bytes] = []
    current = bytearray()
    for octets in chars:
        if len(current) + len(octets) > part_size:
            bodies.append(bytes(current))
            current.clear()
        current += octets
    bodies.append(bytes(current))
    if len(bodies) > MAX_PARTS:
        raise MessageTooLong(f"{len(bodies)} parts; at most {MAX_PARTS} can be concatenated")
    total = len(bodies)
    parts = [concat_udh(reference, total, number) + body for number, body in enumerate(bodies, start=1)]
    return coding, parts, ESM_UDHI
