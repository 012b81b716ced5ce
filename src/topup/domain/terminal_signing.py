"""How a shop terminal signs a request, and how the signature is checked (both sides use this module).

X-Signature: v1=<hex HMAC-SHA256(secret, METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n sha256hex(BODY))>
The timestamp (unix seconds) must be within 300 s of ours; the nonce (16 to 64 characters) is used once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Final

SCHEME: Final = "v1"
MAX_SKEW_S: Final = 300
_NONCE = re.compile(r"[A-Za-z0-9_\-]{16,64}")


class SignatureRefused(Exception):
    """Why a request's signature is not accepted (`code` is stable; nothing of the secret is said)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    path_and_query: str  # "/api/v1/pos/sales?x=1", as sent
    timestamp: str
    nonce: str
    body: bytes

    def canonical(self) -> bytes:
        digest = hashlib.sha256(self.body).hexdigest()
        parts = (self.method.upper(), self.path_and_query, self.timestamp, self.nonce, digest)
        return "\n".join(parts).encode()


def sign(secret: str, request: SignedRequest) -> str:
    """The X-Signature header's value."""
    mac = hmac.new(secret.encode(), request.canonical(), hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def check_fresh(timestamp: str, nonce: str, now_s: float) -> None:
    """Refuse a malformed or stale timestamp and a malformed nonce, before any key is looked at."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureRefused("invalid_timestamp")
    if abs(now_s - int(timestamp)) > MAX_SKEW_S:
        raise SignatureRefused("stale_timestamp")
    if not _NONCE.fullmatch(nonce):
        raise SignatureRefused("invalid_nonce")


def verify(secret: str, signature: str, request: SignedRequest) -> None:
    """Constant-time comparison of the sent signature with ours."""
    if not hmac.compare_digest(sign(secret, request).encode(), signature.strip().encode()):
        raise SignatureRefused("invalid_terminal_signature")
