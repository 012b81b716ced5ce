"""Who sent a kiosk device's event: a kiosk terminal that signed it like any shop terminal
(`topup.channels.terminal_auth`: HMAC, fresh timestamp, nonce once). A POS terminal's signature is not
enough: only a kiosk has a cash acceptor."""

from __future__ import annotations

from django.http import HttpRequest

from topup.channels.terminal_auth import TerminalRefused, authenticate

KIOSK = "kiosk"


def kiosk_terminal(request: HttpRequest) -> str:
    """The id of the kiosk terminal that signed this request; TerminalRefused (401) otherwise."""
    terminal = authenticate(request)
    if terminal.kind != KIOSK:
        raise TerminalRefused("not_a_kiosk")
    return terminal.id
