"""Which simulated network a Belgian mobile number belongs to: range holder, then the portability table.

The simulator plays the carriers' own systems, so it keeps its own numbering logic (it does not use
`topup.domain.identifiers`). Range holders come from phonenumbers 9.0.43 (`carrier.name_for_number`):

    +32 456, 460, 470-479  "Proximus"  -> proximus
    +32 490-499            "Orange"    -> orange
    +32 483-489            "Telenet"   -> base     (BASE's historical ranges; Telenet bought BASE in 2016 and
                                                    libphonenumber now reports them as Telenet, never "BASE")
    +32 465x, 467x, 468, 469, 4806 "Telenet" -> telenet
    other holders (Lycamobile, VOO, DIGI, Citymesh, ...) are not simulated: not on any network here.

Belgian numbers are portable, so `PORTED` overrides the range: a ported number is a line of its new network
only. Every network loses one number to porting and gains at least one, so a range guess can be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, carrier

NETWORKS: Final = ("proximus", "orange", "base", "telenet")

_LABEL_NETWORKS: Final = {"Proximus": "proximus", "Orange": "orange", "Telenet": "telenet"}
_BASE_PREFIXES: Final = frozenset({"483", "484", "485", "486", "487", "488", "489"})

# E.164 number -> (range holder network, network it was ported to).
PORTED: Final[dict[str, tuple[str, str]]] = {
    "+32470000001": ("proximus", "orange"),
    "+32470000002": ("proximus", "base"),
    "+32496000001": ("orange", "proximus"),
    "+32496000002": ("orange", "telenet"),
    "+32485000001": ("base", "telenet"),
    "+32485000002": ("base", "proximus"),
    "+32468000001": ("telenet", "base"),
    "+32468000002": ("telenet", "orange"),
}


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Where a number lives: `e164` is None when it is not a valid number at all."""

    e164: str | None
    network: str | None  # None: not a line of any simulated network (fixed, foreign, other operator)


def range_network(number: phonenumbers.PhoneNumber) -> str | None:
    """The simulated network whose range holds a valid Belgian mobile number, before portability."""
    network = _LABEL_NETWORKS.get(carrier.name_for_number(number, "en"))
    if network == "telenet" and str(number.national_number)[:3] in _BASE_PREFIXES:
        return "base"
    return network


@lru_cache(maxsize=200_000)
def locate(msisdn: str) -> Subscriber:
    """Parse an E.164 number (`+32…`) and tell which simulated network serves it today."""
    if not msisdn.startswith("+") or len(msisdn) > 20:
        return Subscriber(None, None)
    try:
        number = phonenumbers.parse(msisdn, None)
    except phonenumbers.NumberParseException:
        return Subscriber(None, None)
    if not phonenumbers.is_valid_number(number):
        return Subscriber(None, None)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if e164 in PORTED:
        return Subscriber(e164, PORTED[e164][1])
    if number.country_code != 32 or phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        return Subscriber(e164, None)
    return Subscriber(e164, range_network(number))
