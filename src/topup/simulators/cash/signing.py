"""The headers a kiosk terminal signs a request with (the POS scheme, `topup.domain.terminal_signing`)."""

from __future__ import annotations

import secrets
import time

from topup.domain.terminal_signing import SignedRequest, sign


def signed_headers(terminal_id: str, secret: str, method: str, path: str, body: bytes) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = sign(secret, SignedRequest(method, path, timestamp, nonce, body))
    return {
        "X-Terminal-Id": terminal_id,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": signature,
    }
