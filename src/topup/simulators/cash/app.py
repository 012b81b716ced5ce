"""The cash acceptor's device service, simulated: the platform opens a session on it, notes and coins are
inserted, and each one the validator recognises is reported to the platform as an event signed with the kiosk
terminal's key (the POS signature: `topup.channels.terminal_auth`). The platform's answer decides whether the
note is kept in escrow or handed back; when the platform says the sale is made, the escrow is stacked.

    POST /sessions {"session_id"}            open (the platform, when the customer chooses cash)
    GET  /sessions/{id}                      what was inserted, held, handed back
    POST /sessions/{id}/return               cancel: the escrow is handed back to the customer
    POST /sessions/{id}/stack                the sale is made: the escrow goes into the cash box
    POST /_sim/insert {"amount_minor": 2000} a customer inserts a note or a coin (tests, demo)
    GET  /healthz
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Final

import httpx
from aiohttp import web

from topup.simulators.cash.signing import signed_headers
from topup.simulators.cash.state import Acceptor, CashSession
from topup.simulators.serving import json_object

REPORT_ATTEMPTS: Final = 3


@dataclass(frozen=True)
class Reporting:
    """Where and as whom the device reports: the platform's event URL and the kiosk terminal's key."""

    callback_url: str
    terminal_id: str
    secret: str
    timeout_s: float = 10.0


ACCEPTOR = web.AppKey("acceptor", Acceptor)
REPORTING = web.AppKey("reporting", Reporting)


def _session(request: web.Request) -> CashSession | None:
    return request.app[ACCEPTOR].sessions.get(request.match_info["id"])


async def open_session(request: web.Request) -> web.Response:
    body = await json_object(request)
    session_id = str((body or {}).get("session_id", ""))
    if not session_id or len(session_id) > 64:
        return web.json_response({"error": "session_id_required"}, status=400)
    return web.json_response(request.app[ACCEPTOR].open(session_id).document(), status=201)


async def show_session(request: web.Request) -> web.Response:
    session = _session(request)
    if session is None:
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response(session.document())


async def hand_back(request: web.Request) -> web.Response:
    session = request.app[ACCEPTOR].hand_back(request.match_info["id"])
    if session is None:
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response(session.document())


async def stack(request: web.Request) -> web.Response:
    session = request.app[ACCEPTOR].stack(request.match_info["id"])
    if session is None:
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response(session.document())


async def insert(request: web.Request) -> web.Response:
    """A note or coin goes in: unknown ones are refused by the validator itself, the others reported."""
    body = await json_object(request) or {}
    amount = body.get("amount_minor")
    acceptor = request.app[ACCEPTOR]
    if not isinstance(amount, int) or isinstance(amount, bool):
        return web.json_response({"error": "amount_minor_required"}, status=400)
    session = acceptor.sessions.get(acceptor.current)
    if session is None or session.status != "open":
        return web.json_response({"accepted": False, "code": "cash_no_session"}, status=409)
    if not acceptor.recognises(amount):
        session.returned_minor.append(amount)
        return web.json_response(
            {"accepted": False, "code": "cash_denomination_refused", **session.document()}
        )
    answer = await _report(request.app[REPORTING], session.id, acceptor.next_event_id(), amount)
    if answer.get("accepted") is True:
        session.escrow_minor.append(amount)
        if answer.get("status") == "paid":
            acceptor.stack(session.id)
    else:
        session.returned_minor.append(amount)
    return web.json_response({"accepted": answer.get("accepted") is True, "code": answer.get("code", ""),
                              "platform": answer, **session.document()})  # fmt: skip


async def _report(reporting: Reporting, session_id: str, event_id: str, amount: int) -> dict[str, Any]:
    """POST the signed event; a lost answer is asked again with the same event id (the platform keeps each
    event once). Without an answer the note is handed back: the device cannot know it was counted."""
    body = json.dumps({"event_id": event_id, "session_id": session_id, "amount_minor": amount}).encode()
    path = httpx.URL(reporting.callback_url).raw_path.decode()
    async with httpx.AsyncClient(timeout=reporting.timeout_s) as client:
        for attempt in range(REPORT_ATTEMPTS):
            headers = signed_headers(reporting.terminal_id, reporting.secret, "POST", path, body)
            try:
                response = await client.post(
                    reporting.callback_url,
                    content=body,
                    headers={**headers, "Content-Type": "application/json"},
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code < 500:
                answer = response.json() if response.content else {}
                return answer if isinstance(answer, dict) else {}
            await asyncio.sleep(0.2 * (attempt + 1))
    return {"accepted": False, "code": "cash_report_failed"}


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "cash_box_minor": request.app[ACCEPTOR].cash_box_minor})


def build_app(reporting: Reporting) -> web.Application:
    app = web.Application(client_max_size=16 * 1024)
    app[ACCEPTOR] = Acceptor()
    app[REPORTING] = reporting
    app.router.add_post("/sessions", open_session)
    app.router.add_get("/sessions/{id}", show_session)
    app.router.add_post("/sessions/{id}/return", hand_back)
    app.router.add_post("/sessions/{id}/stack", stack)
    app.router.add_post("/_sim/insert", insert)
    app.router.add_get("/healthz", healthz)
    return app
