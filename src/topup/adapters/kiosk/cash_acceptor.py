"""The cash acceptor's device service over HTTP (`topup simulate cash` speaks the same): open a session,
hand back its escrow. Accepted notes and coins come the other way, as signed events to /kiosk/cash/events."""

from __future__ import annotations

import httpx

from topup.metrics.peers import peer_call
from topup.ports import PortUnavailable


class HttpCashAcceptor:
    """One client for every kiosk: each call names the device service of the kiosk it is for."""

    def __init__(self, *, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s

    def _post(self, operation: str, device_url: str, path: str, body: dict[str, str] | None = None) -> None:
        if not device_url:
            raise PortUnavailable("no cash acceptor configured", code="cash_device_unavailable")
        url = f"{device_url.rstrip('/')}{path}"
        try:
            with peer_call("cash", operation) as call:
                response = call.answer(httpx.post(url, json=body or {}, timeout=self.timeout_s))
        except httpx.HTTPError as exc:
            raise PortUnavailable(f"cash acceptor: {exc}", code="cash_device_unavailable") from exc
        if response.status_code >= 400:
            raise PortUnavailable(
                f"cash acceptor answered {response.status_code} to {path}", code="cash_device_unavailable"
            )

    def open_session(self, session_id: str, device_url: str) -> None:
        self._post("open_session", device_url, "/sessions", {"session_id": session_id})

    def hand_back(self, session_id: str, device_url: str) -> None:
        self._post("hand_back", device_url, f"/sessions/{session_id}/return")
