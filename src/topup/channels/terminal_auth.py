"""Who is calling the POS API: a registered shop terminal that signed this very request, once.

Headers: X-Terminal-Id, X-Timestamp (unix s), X-Nonce (16-64 characters), X-Signature (v1=<hex HMAC>), as
`topup.domain.terminal_signing` says. Checked in this order, so that a refused request changes nothing:
the timestamp and nonce's form, the terminal (known and active, its retailer active), the signature (in
constant time), and only then the nonce is recorded, alone in its own transaction: its UNIQUE constraint
refuses a replay, even two copies arriving at once. Nonces older than the allowed skew are pruned by the
maintenance sweep (a replay that old is refused by its timestamp anyway).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja.security.base import AuthBase

from topup.clock import now
from topup.db.models import Terminal, TerminalNonce
from topup.domain.terminal_signing import SignatureRefused, SignedRequest, check_fresh, verify
from topup.services.retail import find_active_terminal

HEADERS = ("X-Terminal-Id", "X-Timestamp", "X-Nonce", "X-Signature")


class TerminalRefused(Exception):
    """A request that did not prove it comes from an active terminal: 401 with the stable `code`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def authenticate(request: HttpRequest) -> Terminal:
    """The terminal that signed `request`, its nonce now used; TerminalRefused otherwise."""
    terminal_id, timestamp, nonce, signature = (request.headers.get(name, "") for name in HEADERS)
    if not (terminal_id and timestamp and nonce and signature):
        raise TerminalRefused("terminal_signature_required")
    at = now()
    signed = SignedRequest(request.method or "GET", request.get_full_path(), timestamp, nonce, request.body)
    try:
        check_fresh(timestamp, nonce, at.timestamp())
        terminal = _active(terminal_id[:40])
        verify(terminal.secret, signature, signed)
    except SignatureRefused as refused:
        raise TerminalRefused(refused.code) from None
    try:
        with transaction.atomic():
            TerminalNonce.objects.create(terminal=terminal, nonce=nonce, seen_at=at)
    except IntegrityError:
        raise TerminalRefused("nonce_reused") from None
    Terminal.objects.filter(id=terminal.id).update(last_seen_at=at)
    return terminal


def _active(terminal_id: str) -> Terminal:
    terminal = find_active_terminal(terminal_id)
    if terminal is None:
        raise SignatureRefused("unknown_terminal")
    return terminal


class TerminalSignature(AuthBase):
    """django-ninja auth: `request.auth` is the Terminal; shown in the OpenAPI document as an API key."""

    openapi_type = "apiKey"

    def __init__(self) -> None:
        self.openapi_in = "header"
        self.openapi_name = "X-Signature"
        super().__init__()

    def __call__(self, request: HttpRequest) -> Terminal:
        return authenticate(request)
