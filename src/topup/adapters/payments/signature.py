"""Stripe-style webhook signatures: `t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`.

Pure functions: the caller passes the time. `verify` accepts several `v1` values in the header and
several secrets (rotation) and compares in constant time; any failure raises `InvalidSignature`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from topup.ports import InvalidSignature

SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>." + payload` under `secret`."""
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header value for `payload` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},{SCHEME}={compute_signature(payload, secret, timestamp)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    """Split the header into its timestamp and its v1 signatures; other schemes are ignored."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not key or not value:
            raise InvalidSignature("malformed signature header")
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise InvalidSignature("signature header needs exactly one numeric timestamp")
    if not signatures:
        raise InvalidSignature(f"signature header has no {SCHEME} signature")
    return int(timestamps[0]), signatures


def verify(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Raise `InvalidSignature` unless one v1 value in `header` signs `payload` under one of `secrets`.

    The timestamp must lie within `tolerance_s` of `now` in both directions (replay and clock skew).
    """
    if not header:
        raise InvalidSignature("missing signature header")
    timestamp, candidates = _parse_header(header)
    if abs(now - timestamp) > tolerance_s:
        raise InvalidSignature("signature timestamp outside the tolerance")
    matched = False
    for secret in secrets:
        expected = compute_signature(payload, secret, timestamp).encode()
        for candidate in candidates:
            # Bitwise-or keeps the loop free of early exits that would leak which value matched.
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise InvalidSignature("no signature matches")
