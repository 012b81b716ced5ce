"""The ECB's euro foreign exchange reference rates: the daily XML (`eurofxref-daily.xml`) and the 90-day
history (`eurofxref-hist-90d.xml`), both `gesmes:Envelope` > `Cube` > `Cube time=` > `Cube currency= rate=`.

The document comes from outside, so it is read defensively: at most MAX_BYTES, UTF-8 only, and no
DOCTYPE at all (that is where entity bombs and external entities live); an undeclared entity is a parse
error. Rates stay the exact decimal text the ECB wrote.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Final
from xml.etree.ElementTree import ParseError, XMLParser

import httpx

from topup.adapters import observed
from topup.domain.errors import DomainError
from topup.domain.fx import FxRate, parse_rate
from topup.metrics.peers import peer_call

SOURCE: Final = "ECB"
MAX_BYTES: Final = 2_000_000  # the 90-day history is ~60 kB; the full history is not what we read
ENVELOPE: Final = "{http://www.gesmes.org/xml/2002-08-01}Envelope"
CUBE: Final = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}Cube"
BUNDLED: Final = Path(__file__).resolve().parents[2] / "data" / "eurofxref-daily.xml"
_FORBIDDEN: Final = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
_DATED_CUBE_DEPTH: Final = 3  # Envelope > Cube > Cube time=...


class RatesUnreadable(Exception):
    """The document is not a usable ECB reference rate file (too big, a DOCTYPE, malformed, no rates)."""


class _Rates:
    """ElementTree parser target: collects (currency, day, rate) from dated Cubes, refuses a DOCTYPE."""

    def __init__(self) -> None:
        self.depth = 0
        self.root = ""
        self.day: date | None = None
        self.rates: dict[tuple[str, date], FxRate] = {}

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise RatesUnreadable("a DOCTYPE is refused")

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        if self.depth == 1:
            self.root = tag
        if tag != CUBE:
            return
        if "time" in attrib:
            try:
                self.day = date.fromisoformat(attrib["time"])
            except ValueError:
                raise RatesUnreadable(f"not a date: {attrib['time']!r}") from None
        elif "currency" in attrib:
            self._rate(attrib)

    def _rate(self, attrib: dict[str, str]) -> None:
        currency = attrib["currency"]
        if self.day is None or not _CURRENCY.fullmatch(currency):
            raise RatesUnreadable(f"a rate for {currency!r} outside a dated Cube")
        try:
            rate = parse_rate(attrib.get("rate", ""))
        except DomainError:
            raise RatesUnreadable(f"not a rate for {currency}: {attrib.get('rate')!r}") from None
        key = (currency, self.day)
        if key in self.rates and self.rates[key].rate != rate:
            raise RatesUnreadable(f"two rates for {currency} on {self.day.isoformat()}")
        self.rates[key] = FxRate(currency, rate, self.day, SOURCE)

    def end(self, tag: str) -> None:
        if tag == CUBE and self.depth == _DATED_CUBE_DEPTH:
            self.day = None
        self.depth -= 1

    def data(self, text: str) -> None:
        """Text between elements is not read."""

    def close(self) -> list[FxRate]:
        return sorted(self.rates.values(), key=lambda r: (r.rate_date, r.currency))


def parse(document: bytes) -> list[FxRate]:
    """Every (currency, day) rate in an ECB daily or history document, oldest first."""
    if len(document) > MAX_BYTES:
        raise RatesUnreadable(f"more than {MAX_BYTES} bytes")
    if _FORBIDDEN.search(document):
        raise RatesUnreadable("a DOCTYPE or entity declaration is refused")
    try:
        document.decode("utf-8")
    except UnicodeDecodeError:
        raise RatesUnreadable("not UTF-8") from None
    target = _Rates()
    # S314: the checks above (size, no DOCTYPE or ENTITY, UTF-8) and `doctype` in the target refuse what
    # defusedxml would; expat itself never fetches external entities.
    parser = XMLParser(target=target)  # noqa: S314
    try:
        parser.feed(document)
        parser.close()
        rates = target.close()
    except ParseError as exc:
        raise RatesUnreadable(f"malformed XML: {exc}") from None
    if target.root != ENVELOPE:
        raise RatesUnreadable("not a gesmes:Envelope")
    if not rates:
        raise RatesUnreadable("no rates in the document")
    return rates


def fetch(url: str, *, timeout_s: float = 10.0) -> bytes:
    """The document at `url`, read up to MAX_BYTES (a longer answer is refused, not truncated)."""
    try:
        client = httpx.Client(timeout=timeout_s, follow_redirects=True, transport=observed.transport("ecb"))
        with peer_call("ecb", "rates"), client, client.stream("GET", url) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise RatesUnreadable(f"more than {MAX_BYTES} bytes at {url}")
            return bytes(body)
    except httpx.HTTPError as exc:
        raise RatesUnreadable(f"cannot read {url}: {exc}") from None


def read_file(path: Path) -> bytes:
    if path.stat().st_size > MAX_BYTES:
        raise RatesUnreadable(f"more than {MAX_BYTES} bytes in {path}")
    return path.read_bytes()
