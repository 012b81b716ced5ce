"""Typed, time-ordered ids: a prefix and a ULID (48-bit unix milliseconds, 80 random bits, Crockford base32).

Callers supply the clock and the randomness, so the same inputs always give the same id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from topup.domain.errors import InvalidInput

CROCKFORD32: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH: Final = 26
MAX_UNIX_MS: Final = (1 << 48) - 1
MAX_RANDOM80: Final = (1 << 80) - 1

ID_PREFIXES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "order": "ord",
        "payment": "pay",
        "line": "ln",
        "job": "job",
        "event": "evt",
        "refund": "rfd",
        "api_key": "key",
    }
)

_PREFIX = re.compile(r"[a-z]{2,8}")
_ID = re.compile(r"([a-z]{2,8})_([0-7][0-9A-HJKMNP-TV-Z]{25})")


class ParsedId(NamedTuple):
    prefix: str
    unix_ms: int
    random80: int


def format_id(prefix: str, unix_ms: int, random80: int) -> str:
    """`<prefix>_<ULID>`; ids of one prefix sort as text in (unix_ms, random80) order."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"id prefix must be 2-8 lowercase letters, got {prefix!r}")
    if not 0 <= unix_ms <= MAX_UNIX_MS:
        raise ValueError(f"unix_ms out of the 48-bit range: {unix_ms}")
    if not 0 <= random80 <= MAX_RANDOM80:
        raise ValueError(f"random80 out of the 80-bit range: {random80}")
    value = (unix_ms << 80) | random80
    chars = [CROCKFORD32[(value >> shift) & 0x1F] for shift in range(125, -1, -5)]
    return f"{prefix}_{''.join(chars)}"


def parse_id(text: str, prefix: str | None = None) -> ParsedId:
    """Split an id made by `format_id`, optionally requiring its prefix; InvalidInput `invalid_id` if not."""
    match = _ID.fullmatch(text)
    if match is None or (prefix is not None and match.group(1) != prefix):
        raise InvalidInput(f"not a valid id: {text!r}", code="invalid_id", field="id")
    value = 0
    for char in match.group(2):
        value = (value << 5) | CROCKFORD32.index(char)
    return ParsedId(match.group(1), value >> 80, value & MAX_RANDOM80)
