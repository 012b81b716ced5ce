"""Personal data helpers shared by every layer: keyed blind indexes and masks for log lines.

A blind index is an HMAC of a normalised value under `TOPUP_INDEX_KEY`: equal values give equal
indexes, so a row can be found by a phone number without the number being stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac

from topup.settings import CONFIG

_KEY = hmac.new(CONFIG.index_key.encode(), b"topup blind index v1", hashlib.sha256).digest()


def blind_index(value: str, *, purpose: str = "msisdn") -> str:
    """A stable keyed digest of `value` (already normalised, e.g. E.164), separate per purpose."""
    return hmac.new(_KEY, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def hash_ip(ip: str | None) -> str:
    """A client address as we may keep it: its keyed digest ('' for none)."""
    return blind_index(ip, purpose="ip") if ip else ""


def mask_msisdn(value: str) -> str:
    """`+32470123456` -> `+32 470 •• •• 56`: enough to tell numbers apart in a log, not to dial one."""
    digits = value.lstrip("+")
    if len(digits) < 8 or not digits.isdigit():
        return "••••"
    return f"+{digits[:2]} {digits[2:5]} •• •• {digits[-2:]}"
