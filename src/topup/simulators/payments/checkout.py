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

from urllib.parse import urlencode

import segno
from aiohttp import web

from topup.simulators.payments.api import json_answer
from topup.simulators.payments.errors import SimulatorError, invalid
from topup.simulators.payments.locales import choose
from topup.simulators.payments.objects import intent_json, wechat_qr_data
from topup.simulators.payments.pages import card_problem, not_found, render_intent, render_session
from topup.simulators.payments.records import Intent, IntentStatus, Session
from topup.simulators.payments.state import PaymentBook

# Tests' shorthand on a session page (not Stripe's): the hosted pages' Approve / Decline as a test card.
SHORTHAND_CARDS = {"approve": "4242424242424242", "decline": "4000000000000002"}
REDIRECT_STATUS = {IntentStatus.SUCCEEDED: "succeeded", IntentStatus.PROCESSING: "processing"}


def _bancontact_language(intent: Intent) -> str | None:
    """Bancontact's `payment_method_options[bancontact][preferred_language]`, when the intent has one."""
    options = intent.payment_method_options.get("bancontact")
    language = options.get("preferred_language") if isinstance(options, dict) else None
    return language if isinstance(language, str) and intent.method == "bancontact" else None


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
        return not_found(choose(None, request.headers.get("Accept-Language")))

    def _intent_language(self, request: web.Request, intent: Intent) -> str:
        """The locale of the Checkout Session that made the intent (its 3-D Secure step), or Bancontact's
        preferred language; else the browser's language, else English."""
        session = next((s for s in self._book.sessions.values() if s.payment_intent == intent.id), None)
        locale = session.locale if session is not None else _bancontact_language(intent)
        return choose(locale, request.headers.get("Accept-Language"))

    @staticmethod
    def _session_language(request: web.Request, session: Session) -> str:
        return choose(session.locale, request.headers.get("Accept-Language"))

    async def show(self, request: web.Request) -> web.Response:
        try:
            intent = self._book.require(request.match_info["id"])
        except SimulatorError as exc:
            return self._not_found(request, exc)
        if _wants_json(request):
            return json_answer({"id": intent.id, "status": intent.status.value})
        return render_intent(intent, self._intent_language(request, intent))

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
        return render_intent(intent, self._intent_language(request, intent))

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
        return render_session(session, self._session_language(request, session))

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
            None if shorthand else card_problem(number, str(form.get("exp", "")), str(form.get("cvc", "")))
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
            return not_found(choose(None, request.headers.get("Accept-Language")), "no_qr")
        code = segno.make(wechat_qr_data(intent.id), error="m")
        kind = request.match_info["ext"]
        content_type = "image/png" if kind == "png" else "image/svg+xml"
        return web.Response(body=_image(code, kind), content_type=content_type)


def _image(code: segno.QRCode, kind: str) -> bytes:
    """The QR code as a standalone PNG or SVG document (an SVG an <img> loads needs its XML namespace, which
    `svg_inline` leaves out: the browser then shows a broken image)."""
    import io  # noqa: PLC0415

    out = io.BytesIO()
    code.save(out, kind=kind, scale=5, border=2)
    return out.getvalue()
