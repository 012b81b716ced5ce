"""ECB reference rate documents for tests, dated as the test needs (the bundled sample has a fixed date)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
    "<gesmes:subject>Reference rates</gesmes:subject>\n"
    "<gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>\n<Cube>\n"
)


def ecb_document(days: Sequence[tuple[date, Mapping[str, str]]]) -> bytes:
    """A daily (one day) or history (several days, newest first as the ECB writes them) document."""
    cubes = "".join(
        f"<Cube time='{day.isoformat()}'>"
        + "".join(f"<Cube currency='{c}' rate='{r}'/>" for c, r in rates.items())
        + "</Cube>\n"
        for day, rates in days
    )
    return (HEAD + cubes + "</Cube>\n</gesmes:Envelope>\n").encode()


def ecb_daily(day: date, cny: str = "7.6880", usd: str = "1.0512") -> bytes:
    return ecb_document([(day, {"USD": usd, "CNY": cny})])
