"""CSV cells as the exports write them, with nothing but the standard library and the domain: times in
ISO 8601 UTC, amounts as plain decimals, and text a spreadsheet would run as a formula defused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from topup.domain.money import MINOR_DIGITS, Money

# OWASP's list for CSV injection: a cell starting with one of these is a formula to Excel or LibreOffice.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One CSV cell: times in ISO 8601 UTC, None empty, formula-looking text defused with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def amount(amount_minor: int | None, currency: str) -> str:
    """Minor units as a plain decimal ("10.00"), the way a spreadsheet or an accounting import reads it."""
    if amount_minor is None:
        return ""
    if currency not in MINOR_DIGITS:
        return str(amount_minor)
    return str(Money(int(amount_minor), currency).as_decimal())
