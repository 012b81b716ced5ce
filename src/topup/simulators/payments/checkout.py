"""The hosted checkout page where the simulated customer approves or declines a payment.

`GET /checkout/{id}` shows the amount, the method and two buttons; `POST /checkout/{id}` with the
form field `action=approve|decline` applies the choice once (later posts change nothing), then
redirects (303) to the intent's return_url or renders the result. A client sending
`Accept: application/json` gets `{"id", "status"}` instead.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from topup.simulators.payments.api import json_answer
from topup.simulators.payments.state import (
    CURRENCY_SYMBOLS,
    METHOD_NAMES,
    Intent,
    IntentStatus,
    PaymentBook,
    SimulatorError,
    invalid,
)

STYLE = """
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2433}
main{max-width:420px;margin:0 auto;padding:24px 16px}
.card{background:#fff;border-radius:14px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:24px}
.merchant{font-size:.9rem;color:#5b6477;margin:0 0 4px}
.amount{font-size:2.2rem;font-weight:700;margin:0 0 8px}
.meta{color:#5b6477;margin:0 0 4px}
.state{font-size:1.2rem;font-weight:600;margin:16px 0 0}
.ok{color:#137333}.ko{color:#b3261e}
form{display:flex;gap:12px;margin-top:24px}
button{flex:1;font-size:1.05rem;padding:14px;border:0;border-radius:10px;cursor:pointer}
.approve{background:#137333;color:#fff}.decline{background:#e8eaed;color:#1d2433}
.note{font-size:.8rem;color:#8a91a1;text-align:center;margin-top:16px}
"""

STATE_TEXT = {
    IntentStatus.REQUIRES_ACTION: ("", "Waiting for your approval"),
    IntentStatus.SUCCEEDED: ("ok", "Payment approved"),
    IntentStatus.REQUIRES_PAYMENT_METHOD: ("ko", "Payment declined"),
}


def format_amount(amount_minor: int, currency: str) -> str:
    number = f"{amount_minor // 100:,}.{amount_minor % 100:02d}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


def _page(title: str, content: str, status: int = 200) -> web.Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f'<body><main><div class="card">{content}</div>'
        '<p class="note">Topup payment sandbox: no real money moves.</p></main></body></html>'
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def render_intent(intent: Intent) -> web.Response:
    spec = intent.spec
    css, state = STATE_TEXT[intent.status]
    if intent.status is IntentStatus.SUCCEEDED and intent.amount_refunded:
        state = f"Refunded {format_amount(intent.amount_refunded, spec.currency)}"
    content = (
        '<p class="merchant">Topup</p>'
        f'<p class="amount">{escape(format_amount(spec.amount, spec.currency))}</p>'
        f'<p class="meta">{escape(spec.description)}</p>'
        f'<p class="meta">Pay with {escape(METHOD_NAMES.get(spec.payment_method, spec.payment_method))}</p>'
        f'<p class="state {css}" id="state">{escape(state)}</p>'
    )
    if intent.status is IntentStatus.REQUIRES_ACTION:
        content += (
            '<form method="post">'
            '<button class="approve" type="submit" name="action" value="approve">Approve</button>'
            '<button class="decline" type="submit" name="action" value="decline">Decline</button>'
            "</form>"
        )
    return _page("Topup checkout", content)


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


class Checkout:
    """Handlers of the hosted checkout over one `PaymentBook`."""

    def __init__(self, book: PaymentBook) -> None:
        self._book = book

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/checkout/{id}", self.show), web.post("/checkout/{id}", self.act)]

    def _not_found(self, request: web.Request, exc: SimulatorError) -> web.Response:
        if _wants_json(request):
            return json_answer(exc.body(), exc.status)
        return _page("Not found", '<p class="state ko">This payment does not exist.</p>', 404)

    async def show(self, request: web.Request) -> web.Response:
        try:
            intent = self._book.require(request.match_info["id"])
        except SimulatorError as exc:
            return self._not_found(request, exc)
        if _wants_json(request):
            return json_answer({"id": intent.id, "status": intent.status.value})
        return render_intent(intent)

    async def act(self, request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]
        action = (await request.post()).get("action")
        try:
            if action == "approve":
                intent = self._book.approve(intent_id)
            elif action == "decline":
                intent = self._book.decline(intent_id)
            else:
                error = invalid("parameter_invalid", "action must be approve or decline.", "action")
                return json_answer(error.body(), error.status)
        except SimulatorError as exc:
            return self._not_found(request, exc)
        if _wants_json(request):
            return json_answer({"id": intent.id, "status": intent.status.value})
        if intent.spec.return_url:
            raise web.HTTPSeeOther(intent.spec.return_url)
        return render_intent(intent)
