"""The cash acceptor's device service over HTTP (`topup simulate cash` speaks the same): open a session,
hand back its escrow. Accepted notes and coins come the other way, as signed events to /kiosk/cash/events."""

from __future__ import annotations

import httpx

from topup.ports import PortUnavailable


class HttpCashAcceptor:
    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _post(self, path: str, body: dict[str, str] | None = None) -> None:
        try:
            response = httpx.post(f"{self.base_url}{path}", json=body or {}, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise PortUnavailable(f"cash acceptor: {exc}", code="cash_device_unavailable") from exc
        if response.status_code >= 400:
            raise PortUnavailable(
                f"cash acceptor answered {response.status_code} to {path}", code="cash_device_unavailable"
            )

    def open_session(self, session_id: str) -> None:
        self._post("/sessions", {"session_id": session_id})

    def hand_back(self, session_id: str) -> None:
        self._post(f"/sessions/{session_id}/return")
