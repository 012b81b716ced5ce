"""The kiosk's receipt printer: ESC/POS bytes sent to where `TOPUP_KIOSK_PRINTER` says.

file:/path            appended to a file (the demo; `cat` it, or point it at /dev/usb/lp0)
network:host[:9100]   a network printer's raw port, through python-escpos's Network printer
dummy                 python-escpos's Dummy printer, kept in memory (tests read `DUMMY.output`)
"""

from __future__ import annotations

from pathlib import Path

from escpos.printer import Dummy, Network

from topup.settings import CONFIG

DUMMY = Dummy()
RAW_PORT = 9100


class PrinterError(Exception):
    """The printer cannot be reached; the receipt is still shown on the screen."""


def send(escpos_bytes: bytes, target: str | None = None) -> None:
    where = target if target is not None else CONFIG.kiosk_printer
    kind, _, rest = where.partition(":")
    try:
        if kind == "file":
            with Path(rest).open("ab") as out:
                out.write(escpos_bytes)
        elif kind == "network":
            host, _, port = rest.partition(":")
            printer = Network(host, int(port or RAW_PORT), timeout=5)
            printer._raw(escpos_bytes)
            printer.close()
        elif kind == "dummy":
            DUMMY._raw(escpos_bytes)
        else:
            raise PrinterError(f"TOPUP_KIOSK_PRINTER {where!r}: use file:/path, network:host:port or dummy")
    except OSError as exc:
        raise PrinterError(str(exc)) from exc
