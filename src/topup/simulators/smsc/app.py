"""HTTP side of the SMSC simulator: the phones.

POST /phones/{msisdn}/send {"text": "...", "to": "1919"}   the phone sends an SMS (mobile-originated);
     optional "source_format": international (default, TON 1) | national (TON 2) | unknown (TON 0, 0470…)
GET  /phones/{msisdn}/inbox?since=<seq>                    what the platform sent that phone, reassembled
POST /admin/unbind                                         the SMSC unbinds every bound ESME (then closes)
GET  /healthz                                              liveness, bound ESMEs, unbinds sent/answered
GET  /   POST /ui/send                                     a small page: phones, messages, a send form
"""

from __future__ import annotations

import html
from typing import Any, Final

from aiohttp import web

from topup.simulators.smsc.session import SOURCE_FORMATS, Smsc
from topup.simulators.smsc.state import Message, normalize_address

SMSC: Final = web.AppKey("smsc", Smsc)
MAX_TEXT_CHARS: Final = 1_600  # ten concatenated UCS-2 parts: far more than any phone sends


def _phone(request: web.Request) -> str:
    return normalize_address(request.match_info["msisdn"])


async def _send(smsc: Smsc, phone: str, body: Any) -> web.Response:
    if not isinstance(body, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    text, to = body.get("text"), body.get("to", smsc.short_code)
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT_CHARS:
        return web.json_response({"error": f"text must be 1..{MAX_TEXT_CHARS} characters"}, status=400)
    if not isinstance(to, str) or not to.strip():
        return web.json_response({"error": "to must be an address"}, status=400)
    source_format = body.get("source_format", "international")
    if source_format not in SOURCE_FORMATS:
        return web.json_response({"error": f"source_format must be one of {SOURCE_FORMATS}"}, status=400)
    message, delivered = await smsc.phone_sends(phone, normalize_address(to), text, source_format)
    status = "delivered" if delivered else "queued"
    return web.json_response({"status": status, "seq": message.seq}, status=202)


async def send(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    return await _send(request.app[SMSC], _phone(request), body)


async def inbox(request: web.Request) -> web.Response:
    smsc, phone = request.app[SMSC], _phone(request)
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        return web.json_response({"error": "since must be an integer"}, status=400)
    messages = [message.as_json() for message in smsc.state.inbox(phone, since)]
    return web.json_response({"msisdn": phone, "messages": messages, "last_seq": smsc.state.last_seq()})


async def healthz(request: web.Request) -> web.Response:
    smsc = request.app[SMSC]
    unbinds = {"sent": smsc.unbinds_sent, "answered": smsc.unbinds_answered}
    return web.json_response(
        {
            "status": "ok",
            "bound_esmes": len(smsc.bound()),
            "phones": len(smsc.state.phones()),
            "unbinds": unbinds,
        }
    )


async def unbind(request: web.Request) -> web.Response:
    """Unbind every bound ESME, as an SMSC going down for maintenance does; whether each answered."""
    sessions = await request.app[SMSC].unbind_all()
    return web.json_response({"unbound": len(sessions), "sessions": sessions})


def _row(message: Message) -> str:
    arrow = "→" if message.direction == "mo" else "←"
    cells = (str(message.seq), message.phone, f"{arrow} {message.peer}", message.text, message.at)
    return "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"


async def index(request: web.Request) -> web.Response:
    smsc = request.app[SMSC]
    rows = "".join(_row(message) for message in reversed(smsc.state.messages[-200:]))
    phones = ", ".join(html.escape(phone) for phone in smsc.state.phones()) or "none yet"
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SMSC simulator</title>
<style>body{{font-family:sans-serif;margin:2em}}
td,th{{border-bottom:1px solid #ccc;padding:.3em;text-align:left}}</style></head><body>
<h1>SMSC simulator</h1><p>Bound ESMEs: {len(smsc.bound())}. Phones: {phones}.</p>
<form method="post" action="/ui/send"><label>From <input name="from" value="+32470123456"></label>
<label>To <input name="to" value="{html.escape(smsc.short_code)}" size="8"></label>
<label>Text <input name="text" size="40" required></label> <button>Send</button></form>
<table><tr><th>#</th><th>Phone</th><th>Peer</th><th>Text</th><th>At (UTC)</th></tr>{rows}</table>
</body></html>"""
    return web.Response(text=page, content_type="text/html")


async def ui_send(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    phone = normalize_address(str(form.get("from", "")))
    body = {"text": str(form.get("text", "")), "to": str(form.get("to", ""))}
    response = await _send(request.app[SMSC], phone, body)
    if response.status >= 400:
        return response
    raise web.HTTPSeeOther("/")


def build_app(smsc: Smsc) -> web.Application:
    app = web.Application()
    app[SMSC] = smsc
    app.router.add_post("/phones/{msisdn}/send", send)
    app.router.add_get("/phones/{msisdn}/inbox", inbox)
    app.router.add_post("/admin/unbind", unbind)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", index)
    app.router.add_post("/ui/send", ui_send)
    return app
