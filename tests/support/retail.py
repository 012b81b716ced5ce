"""A shop for tests: a retailer with a float, a 3 % Proximus commission, a terminal with an open shift."""

from __future__ import annotations

import json
import secrets
import time

from django.http import HttpResponse
from django.test import Client

from topup.db.models import Retailer, Terminal
from topup.domain.terminal_signing import SignedRequest, sign
from topup.services import retail_admin, shifts


def shop(
    float_minor: int = 10_000, credit_minor: int = 0, *, opening_float_minor: int = 5_000, terminals: int = 1
) -> list[tuple[str, str]]:
    """(terminal id, secret) of each new terminal, each with its shift open."""
    retailer = retail_admin.create_retailer(
        "Nachtwinkel", vat_number="BE0123456789", credit_limit_minor=credit_minor,
        address_lines=("Anspachlaan 1", "1000 Brussel"),
    )  # fmt: skip
    retail_admin.set_commission(retailer.id, 300, network_id="proximus")
    if float_minor:
        reference = f"BANK-{retailer.id}"
        retail_admin.float_topup(retailer.id, float_minor, bank_reference=reference, recorded_by="staff")
    made = []
    for n in range(terminals):
        credentials = retail_admin.create_terminal(retailer.id, f"till {n + 1}")
        terminal = Terminal.objects.select_related("retailer").get(id=credentials.terminal_id)
        shifts.open_shift(terminal, opened_by="Anna", opening_float_minor=opening_float_minor)
        made.append((credentials.terminal_id, credentials.secret))
    return made


def float_of(terminal_id: str) -> int:
    return Retailer.objects.get(terminals__id=terminal_id).float_minor


def signed_headers(
    terminal_id: str, secret: str, method: str, path: str, body: bytes = b"", *, at: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:  # fmt: skip
    """The four headers a terminal sends (Django test client style: HTTP_X_...)."""
    timestamp = str(int(time.time() if at is None else at))
    nonce = nonce or secrets.token_hex(16)
    signature = sign(secret, SignedRequest(method, path, timestamp, nonce, body))
    return {
        "HTTP_X_TERMINAL_ID": terminal_id, "HTTP_X_TIMESTAMP": timestamp, "HTTP_X_NONCE": nonce,
        "HTTP_X_SIGNATURE": signature,
    }  # fmt: skip


class Till:
    """A terminal calling the POS API through Django's test client, signing every request."""

    def __init__(self, client: Client, terminal_id: str, secret: str) -> None:
        self.client, self.terminal_id, self.secret = client, terminal_id, secret

    def get(self, path: str, **headers: str) -> HttpResponse:
        signed = signed_headers(self.terminal_id, self.secret, "GET", path)
        return self.client.get(path, **{**signed, **headers})  # type: ignore[return-value]

    def post(self, path: str, body: dict[str, object], **headers: str) -> HttpResponse:
        raw = json.dumps(body).encode()
        signed = signed_headers(self.terminal_id, self.secret, "POST", path, raw)
        merged = {**signed, **headers}
        return self.client.post(path, raw, content_type="application/json", **merged)  # type: ignore[return-value]
