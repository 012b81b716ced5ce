"""How a terminal signs a request (the POS API's scheme, `topup.channels.terminal_auth`): HMAC-SHA256 with
the terminal's secret over `METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nsha256hex(BODY)`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time


def signed_headers(terminal_id: str, secret: str, method: str, path_query: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    message = "\n".join([method.upper(), path_query, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Terminal-Id": terminal_id,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": f"v1={digest}",
    }
