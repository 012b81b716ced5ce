"""Reading an order as its buyer does: with the `order_token` of the answer that created it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


def owner(order: Mapping[str, Any]) -> dict[str, str]:
    """The header that lets a test read, cancel or fetch the QR code of the order it placed."""
    return {"X-Order-Token": str(order["order_token"])}


def signed_in_token(msisdn: str) -> str:
    """A bearer token of a line signed in with a one-time code, as POST /auth/otp/verify grants it."""
    import hashlib  # noqa: PLC0415
    import secrets  # noqa: PLC0415
    from datetime import timedelta  # noqa: PLC0415

    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import AccessToken  # noqa: PLC0415

    token = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        token_hash=hashlib.sha256(token.encode()).hexdigest(), msisdn=msisdn, created_at=now(),
        expires_at=now() + timedelta(hours=1),
    )  # fmt: skip
    return token


def wait_until_paid(client: Any, order: Mapping[str, Any], timeout_s: float = 15.0) -> None:
    """Until the order leaves `awaiting_payment` (the provider's signed event arrived), within a deadline."""
    deadline = time.monotonic() + timeout_s
    while (
        client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["status"]
        == "awaiting_payment"
    ):
        assert time.monotonic() < deadline, "the payment webhook never arrived"
        time.sleep(0.05)
