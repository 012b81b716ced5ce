"""Who sent a kiosk device's event: the kiosk terminal's HMAC signature (the POS scheme of
`topup.domain.terminal_signing`), a fresh timestamp, and a nonce never seen before (its UNIQUE row is
written in its own transaction before anything else, so a refused request changes nothing)."""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from topup.clock import now
from topup.db.models import Terminal, TerminalNonce
from topup.domain.terminal_signing import SignatureRefused, SignedRequest, check_fresh, verify

KIOSK = "kiosk"


class TerminalAuthError(Exception):
    """A refused signature: 401 with one code, whatever the reason (the log has it)."""

    code = "terminal_unauthorized"
    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def authenticate(request: HttpRequest) -> str:
    """The id of the active kiosk terminal that signed this request, or TerminalAuthError."""
    headers = request.headers
    timestamp, nonce = headers.get("X-Timestamp", ""), headers.get("X-Nonce", "")
    try:
        check_fresh(timestamp, nonce, time.time())
        terminal = Terminal.objects.filter(
            id=headers.get("X-Terminal-Id", "")[:40], kind=KIOSK, active=True, retailer__active=True
        ).first()
        if terminal is None:
            raise SignatureRefused("unknown_terminal")
        signed = SignedRequest(
            request.method or "POST", request.get_full_path(), timestamp, nonce, request.body
        )
        verify(terminal.secret, headers.get("X-Signature", ""), signed)
    except SignatureRefused as exc:
        raise TerminalAuthError(exc.code) from exc
    try:
        with transaction.atomic():
            TerminalNonce.objects.create(terminal=terminal, nonce=nonce, seen_at=now())
    except IntegrityError:
        raise TerminalAuthError("replayed_nonce") from None
    return terminal.id
