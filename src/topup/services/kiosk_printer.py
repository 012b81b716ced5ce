"""The kiosk's receipt printer: ESC/POS bytes sent to the kiosk's own printer, or `TOPUP_KIOSK_PRINTER`.

file:/path            appended to a file (the demo; `cat` it, or point it at /dev/usb/lp0)
network:host[:9100]   a network printer's raw port, through python-escpos's Network printer
dummy                 python-escpos's Dummy printer, kept in memory (tests read `dummy().output`)

python-escpos is imported when a printer needs it: its import costs every process 0.2 s or more.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

RAW_PORT = 9100


@cache
def dummy() -> Any:  # python-escpos ships no types
    """The in-memory printer (one per process)."""
    from escpos.printer import Dummy  # noqa: PLC0415

    return Dummy()


class PrinterError(Exception):
    """The printer cannot be reached; the receipt is still shown on the screen."""


def send(escpos_bytes: bytes, where: str) -> None:
    """Send to `where` (the kiosk's printer, see services/kiosk_devices)."""
    kind, _, rest = where.partition(":")
    try:
        if kind == "file":
            with Path(rest).open("ab") as out:
                out.write(escpos_bytes)
        elif kind == "network":
            from escpos.printer import Network  # noqa: PLC0415

            host, _, port = rest.partition(":")
            printer = Network(host, int(port or RAW_PORT), timeout=5)
            printer._raw(escpos_bytes)
            printer.close()
        elif kind == "dummy":
            dummy()._raw(escpos_bytes)
        else:
            raise PrinterError(f"printer {where!r}: use file:/path, network:host:port or dummy")
    except OSError as exc:
        raise PrinterError(str(exc)) from exc
