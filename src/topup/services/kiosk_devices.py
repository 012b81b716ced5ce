"""Which devices stand beside a kiosk: its card reader, its cash acceptor's device service, its receipt
printer. Each is the kiosk terminal's own (set with `topup kiosk devices`, or in the back office), else the
platform-wide setting, so that one kiosk runs on settings alone and several each reach their own."""

from __future__ import annotations

from dataclasses import dataclass

from topup.db.models import Terminal
from topup.settings import CONFIG


@dataclass(frozen=True, slots=True)
class Devices:
    reader_id: str
    cash_url: str
    printer: str


def of(terminal_id: str) -> Devices:
    own = Terminal.objects.filter(id=terminal_id).values_list("reader_id", "cash_url", "printer").first()
    reader_id, cash_url, printer = own or ("", "", "")
    return Devices(
        reader_id=reader_id or CONFIG.kiosk_reader_id,
        cash_url=cash_url or CONFIG.cash_url,
        printer=printer or CONFIG.kiosk_printer,
    )


def set_devices(
    terminal_id: str, *, reader_id: str | None, cash_url: str | None, printer: str | None
) -> Devices:
    """Change what was given ("" goes back to the setting); only a kiosk terminal has devices."""
    changes = {
        name: value
        for name, value in (("reader_id", reader_id), ("cash_url", cash_url), ("printer", printer))
        if value is not None
    }
    if not Terminal.objects.filter(id=terminal_id, kind="kiosk").update(**changes) and changes:
        raise LookupError(f"{terminal_id} is not a kiosk terminal")
    return of(terminal_id)
