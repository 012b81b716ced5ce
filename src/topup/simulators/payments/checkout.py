"""The hosted pages of the simulated account: where the customer authenticates, approves or declines.

Every redirect target and hosted-instructions URL of a PaymentIntent is `GET /checkout/{id}`: a
simulated 3-D Secure challenge for cards, the bank's page for Bancontact, Alipay's page, or WeChat Pay's
QR code with its instructions (a phone would scan it; here Approve / Decline stand for the scan).
`POST /checkout/{id}` with `action=approve|decline` acts once (later posts change nothing), then
redirects (303) to the return_url with `payment_intent=...&redirect_status=succeeded|failed|processing`,
as Stripe does. A client sending `Accept: application/json` gets `{"id", "status"}` instead.
`GET /qr/{id}.png|.svg` serve the QR image of a WeChat Pay intent.

A Checkout Session's `url` is `GET /checkout/{cs_id}` too: the amount and a card form (number, expiry,
CVC). `POST` it with Stripe's test card numbers: 4242 4242 4242 4242 pays; 4000 0025 0000 3155 goes
through the simulated 3-D Secure page above first; 4000 0000 0000 0002 is declined and the page stays,
open for another card. A paid session redirects to its `success_url` (`{CHECKOUT_SESSION_ID}` replaced);
the Cancel link goes back to `cancel_url`. For tests, `action=approve|decline` stands for 4242... and
4000 0000 0000 0002, as on the other hosted pages. `Accept: application/json` answers `{"id", "status",
"payment_status", "payment_intent", "next_action_url", "error"}`.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

import segno
from aiohttp import web

from topup.simulators.payments.api import json_answer
from topup.simulators.payments.errors import SimulatorError, invalid
from topup.simulators.payments.objects import intent_json, wechat_qr_data
from topup.simulators.payments.records import CURRENCY_SYMBOLS, METHOD_NAMES, Intent, IntentStatus, Session
from topup.simulators.payments.state import PaymentBook

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
.qr{display:block;margin:16px auto;width:220px;height:220px;image-rendering:pixelated}
.note{font-size:.8rem;color:#8a91a1;text-align:center;margin-top:16px}
.pay{flex-direction:column;gap:10px}
.pay label{display:flex;flex-direction:column;gap:4px;font-size:.85rem;color:#5b6477}
.meta{overflow-wrap:anywhere}
.pay input{font-size:1.05rem;padding:10px;border:1px solid #c9ced8;border-radius:8px}
.pay input{width:100%;box-sizing:border-box}
.row{display:flex;gap:10px}.row label{flex:1}
.cancel{display:block;text-align:center;margin-top:12px;color:#5b6477}
"""
# Tests' shorthand on a session page (not Stripe's): the hosted pages' Approve / Decline as a test card.
SHORTHAND_CARDS = {"approve": "4242424242424242", "decline": "4000000000000002"}
SESSION_STATE = {
    "open": ("", ""),
    "complete": ("ok", "Payment complete"),
    "expired": ("ko", "This checkout expired"),
}

STATE_TEXT = {
    IntentStatus.REQUIRES_ACTION: ("", "Waiting for your approval"),
    IntentStatus.PROCESSING: ("", "Processing"),
    IntentStatus.SUCCEEDED: ("ok", "Payment approved"),
    IntentStatus.REQUIRES_PAYMENT_METHOD: ("ko", "Payment declined"),
    IntentStatus.REQUIRES_CONFIRMATION: ("", "Not confirmed yet"),
    IntentStatus.CANCELED: ("ko", "Payment canceled"),
}
REDIRECT_STATUS = {IntentStatus.SUCCEEDED: "succeeded", IntentStatus.PROCESSING: "processing"}
STEP_TEXT = {
    "card": "3-D Secure: confirm this payment with your bank (simulated).",
    "bancontact": "Bancontact: approve in your bank's app (simulated).",
    "alipay": "Alipay: log in and pay (simulated).",
    "wechat_pay": "Scan this QR code in WeChat to pay. Approve or Decline stand for the scan (simulated).",
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
        '<p class="note">Simulated Stripe test mode: no real money moves.</p></main></body></html>'
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def render_intent(intent: Intent) -> web.Response:
    css, state = STATE_TEXT[intent.status]
    if intent.status is IntentStatus.SUCCEEDED and intent.amount_refunded:
        state = f"Refunded {format_amount(intent.amount_refunded, intent.currency)}"
    method = intent.method or "card"
    content = (
        '<p class="merchant">Topup</p>'
        f'<p class="amount">{escape(format_amount(intent.amount, intent.currency))}</p>'
        f'<p class="meta">{escape(intent.description or "")}</p>'
        f'<p class="meta">Pay with {escape(METHOD_NAMES.get(method, method))}</p>'
        f'<p class="state {css}" id="state">{escape(state)}</p>'
    )
    if intent.status is IntentStatus.REQUIRES_ACTION:
        content += f'<p class="meta" id="step">{escape(STEP_TEXT.get(method, ""))}</p>'
        if method == "wechat_pay":
            content += f'<img class="qr" id="qr" alt="WeChat Pay QR code" src="/qr/{escape(intent.id)}.svg">'
        content += (
            '<form method="post">'
            '<button class="approve" type="submit" name="action" value="approve">Approve</button>'
            '<button class="decline" type="submit" name="action" value="decline">Decline</button>'
            "</form>"
        )
    return _page("Topup checkout", content)


def _card_problem(number: str, expiry: str, cvc: str) -> str | None:
    """What the page says of a card form it cannot send (Stripe's Checkout checks the same)."""
    if not number.isdigit() or not 13 <= len(number) <= 19:
        return "Your card number is incomplete."
    month, _, year = expiry.replace(" ", "").partition("/")
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) in {2, 4}):
        return "Your card's expiration date is incomplete."
    if not cvc.isdigit() or len(cvc) not in {3, 4}:
        return "Your card's security code is incomplete."
    return None


def render_session(session: Session) -> web.Response:
    css, state = SESSION_STATE.get(session.status, ("", ""))
    content = (
        '<p class="merchant">Topup</p>'
        f'<p class="amount">{escape(format_amount(session.amount, session.currency))}</p>'
        f'<p class="meta">{escape(session.name)}</p>'
        f'<p class="state {css}" id="state">{escape(state)}</p>'
    )
    if session.last_error and session.status == "open":
        content += f'<p class="state ko" id="error" role="alert">{escape(session.last_error)}</p>'
    if session.status == "open":
        content += (
            '<form method="post" class="pay">'
            '<label>Card number<input name="number" id="number" inputmode="numeric" '
            'autocomplete="cc-number" placeholder="4242 4242 4242 4242" required></label>'
            '<div class="row"><label>Expiry<input name="exp" id="exp" placeholder="MM / YY" '
            'autocomplete="cc-exp" required></label>'
            '<label>CVC<input name="cvc" id="cvc" inputmode="numeric" placeholder="123" '
            'autocomplete="cc-csc" required></label></div>'
            f'<button class="approve" type="submit" id="pay">Pay '
            f"{escape(format_amount(session.amount, session.currency))}</button>"
            "</form>"
        )
        if session.cancel_url:
            content += f'<a class="cancel" id="cancel" href="{escape(session.cancel_url)}">Cancel</a>'
    return _page("Topup checkout", content)


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def return_location(intent: Intent) -> str | None:
    """The return_url with Stripe's query: `payment_intent`, its client secret and `redirect_status`."""
    if not intent.return_url:
        return None
    query = urlencode({
        "payment_intent": intent.id,
        "payment_intent_client_secret": str(intent_json(intent)["client_secret"]),
        "redirect_status": REDIRECT_STATUS.get(intent.status, "failed"),
    })  # fmt: skip
    separator = "&" if "?" in intent.return_url else "?"
    return f"{intent.return_url}{separator}{query}"


class Checkout:
    """Handlers of the hosted pages over one `PaymentBook`."""

    def __init__(self, book: PaymentBook) -> None:
        self._book = book

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/checkout/{id:cs_[A-Za-z0-9_]+}", self.show_session),
            web.post("/checkout/{id:cs_[A-Za-z0-9_]+}", self.pay_session),
            web.get("/checkout/{id}", self.show),
            web.post("/checkout/{id}", self.act),
            web.get("/qr/{id}.{ext:png|svg}", self.qr),
        ]

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
        action = (await request.post()).get("action")
        try:
            intent = self._book.require(request.match_info["id"])
        except SimulatorError as exc:
            return self._not_found(request, exc)
        if action not in {"approve", "decline"}:
            error = invalid("parameter_invalid", "action must be approve or decline.", "action")
            return json_answer(error.body(), error.status)
        self._book.customer_acts(intent, approve=action == "approve")
        if _wants_json(request):
            return json_answer({"id": intent.id, "status": intent.status.value})
        location = return_location(intent)
        if location:
            raise web.HTTPSeeOther(location)
        return render_intent(intent)

    # -------------------------------------------------------- checkout sessions

    def _session(self, request: web.Request) -> Session | web.Response:
        try:
            return self._book.require_session(request.match_info["id"])
        except SimulatorError as exc:
            return self._not_found(request, exc)

    def _session_answer(self, request: web.Request, session: Session) -> web.Response:
        """JSON for tests, else: the success_url once paid, the 3-D Secure step if it waits, or the page."""
        intent = self._book.intents.get(session.payment_intent or "")
        challenge = intent.hosted_url if intent and intent.status is IntentStatus.REQUIRES_ACTION else None
        if _wants_json(request):
            return json_answer({
                "id": session.id, "status": session.status, "payment_status": session.payment_status,
                "payment_intent": session.payment_intent, "next_action_url": challenge,
                "error": session.last_error,
            })  # fmt: skip
        if session.status == "complete":
            raise web.HTTPSeeOther(session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id))
        if challenge and request.method == "POST":
            raise web.HTTPSeeOther(challenge)
        return render_session(session)

    async def show_session(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if isinstance(session, web.Response):
            return session
        return self._session_answer(request, session)

    async def pay_session(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if isinstance(session, web.Response):
            return session
        form = await request.post()
        shorthand = SHORTHAND_CARDS.get(str(form.get("action", "")))
        number = shorthand or "".join(str(form.get("number", "")).split())
        problem = (
            None if shorthand else _card_problem(number, str(form.get("exp", "")), str(form.get("cvc", "")))
        )
        if problem and session.status == "open":
            session.last_error = problem
            self._book.keep(session)
        else:
            self._book.pay_session(session, number)
        return self._session_answer(request, session)

    async def qr(self, request: web.Request) -> web.Response:
        intent = self._book.intents.get(request.match_info["id"])
        if intent is None or intent.method != "wechat_pay":
            return _page("Not found", '<p class="state ko">No such QR code.</p>', 404)
        code = segno.make(wechat_qr_data(intent.id), error="m")
        if request.match_info["ext"] == "png":
            return web.Response(body=_png(code), content_type="image/png")
        return web.Response(text=code.svg_inline(scale=5, border=2), content_type="image/svg+xml")


def _png(code: segno.QRCode) -> bytes:
    import io  # noqa: PLC0415

    out = io.BytesIO()
    code.save(out, kind="png", scale=5, border=2)
    return out.getvalue()
