"""The HTML of the hosted pages (checkout, 3-D Secure, the bank's, Alipay's and WeChat Pay's pages), in the
language `locales.choose` picked for the buyer; the handlers that serve them are in `checkout`."""

from __future__ import annotations

from html import escape

from aiohttp import web

from topup.simulators.payments.locales import ERROR_KEYS, HTML_LANG, known, money, text
from topup.simulators.payments.records import Intent, IntentStatus, Session

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
SESSION_STATE = {"open": ("", ""), "complete": ("ok", "state.complete"), "expired": ("ko", "state.expired")}
STATE_TEXT = {
    IntentStatus.REQUIRES_ACTION: ("", "state.waiting"),
    IntentStatus.PROCESSING: ("", "state.processing"),
    IntentStatus.SUCCEEDED: ("ok", "state.approved"),
    IntentStatus.REQUIRES_PAYMENT_METHOD: ("ko", "state.declined"),
    IntentStatus.REQUIRES_CONFIRMATION: ("", "state.unconfirmed"),
    IntentStatus.CANCELED: ("ko", "state.canceled"),
}


def page(language: str, title_key: str, content: str, status: int = 200) -> web.Response:
    html = (
        f'<!doctype html><html lang="{HTML_LANG.get(language, "en")}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(text(language, title_key))}</title><style>{STYLE}</style></head>"
        f'<body><main><div class="card">{content}</div>'
        f'<p class="note">{escape(text(language, "note"))}</p></main></body></html>'
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def not_found(language: str, message_key: str = "not_found") -> web.Response:
    message = escape(text(language, message_key))
    return page(language, "not_found_title", f'<p class="state ko">{message}</p>', 404)


def _buttons(language: str) -> str:
    approve, decline = escape(text(language, "approve")), escape(text(language, "decline"))
    return (
        '<form method="post">'
        f'<button class="approve" type="submit" name="action" value="approve">{approve}</button>'
        f'<button class="decline" type="submit" name="action" value="decline">{decline}</button>'
        "</form>"
    )


def render_intent(intent: Intent, language: str) -> web.Response:
    css, state_key = STATE_TEXT[intent.status]
    state = text(language, state_key)
    if intent.status is IntentStatus.SUCCEEDED and intent.amount_refunded:
        refunded = money(intent.amount_refunded, intent.currency, language)
        state = text(language, "state.refunded", amount=refunded)
    method = intent.method or "card"
    method_name = text(language, f"method.{method}") if known(f"method.{method}") else method
    pay_with = (  # a card reads "by card" in most languages, the others "with <brand>"
        text(language, f"pay_with.{method}")
        if known(f"pay_with.{method}")
        else text(language, "pay_with", method=method_name)
    )
    content = (
        '<p class="merchant">Topup</p>'
        f'<p class="amount">{escape(money(intent.amount, intent.currency, language))}</p>'
        f'<p class="meta">{escape(intent.description or "")}</p>'
        f'<p class="meta">{escape(pay_with)}</p>'
        f'<p class="state {css}" id="state">{escape(state)}</p>'
    )
    if intent.status is IntentStatus.REQUIRES_ACTION:
        if known(f"step.{method}"):
            buttons = {"approve": text(language, "approve"), "decline": text(language, "decline")}
            step = text(language, f"step.{method}", **buttons)
            content += f'<p class="meta" id="step">{escape(step)}</p>'
        if method == "wechat_pay":
            alt = escape(text(language, "qr_alt"))
            content += f'<img class="qr" id="qr" alt="{alt}" src="/qr/{escape(intent.id)}.svg">'
        content += _buttons(language)
    return page(language, "title", content)


def card_problem(number: str, expiry: str, cvc: str) -> str | None:
    """What the page says of a card form it cannot send (Stripe's Checkout checks the same), in English:
    the session's JSON `error`; the page shows it in the buyer's language."""
    if not number.isdigit() or not 13 <= len(number) <= 19:
        return text("en", "error.number_incomplete")
    month, _, year = expiry.replace(" ", "").partition("/")
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) in {2, 4}):
        return text("en", "error.expiry_incomplete")
    if not cvc.isdigit() or len(cvc) not in {3, 4}:
        return text("en", "error.cvc_incomplete")
    return None


def _card_form(session: Session, language: str) -> str:
    pay = escape(text(language, "pay", amount=money(session.amount, session.currency, language)))
    form = (
        '<form method="post" class="pay">'
        f'<label>{escape(text(language, "card_number"))}<input name="number" id="number" inputmode="numeric" '
        'autocomplete="cc-number" placeholder="4242 4242 4242 4242" required></label>'
        f'<div class="row"><label>{escape(text(language, "expiry"))}<input name="exp" id="exp" '
        f'placeholder="{escape(text(language, "expiry_hint"))}" autocomplete="cc-exp" required></label>'
        f'<label>{escape(text(language, "cvc"))}<input name="cvc" id="cvc" inputmode="numeric" '
        'placeholder="123" autocomplete="cc-csc" required></label></div>'
        f'<button class="approve" type="submit" id="pay">{pay}</button>'
        "</form>"
    )
    if session.cancel_url:
        cancel = escape(text(language, "cancel"))
        form += f'<a class="cancel" id="cancel" href="{escape(session.cancel_url)}">{cancel}</a>'
    return form


def render_session(session: Session, language: str) -> web.Response:
    css, state_key = SESSION_STATE.get(session.status, ("", ""))
    content = (
        '<p class="merchant">Topup</p>'
        f'<p class="amount">{escape(money(session.amount, session.currency, language))}</p>'
        f'<p class="meta">{escape(session.name)}</p>'
        f'<p class="state {css}" id="state">{escape(text(language, state_key) if state_key else "")}</p>'
    )
    if session.last_error and session.status == "open":
        key = ERROR_KEYS.get(session.last_error)
        shown = text(language, key) if key else session.last_error
        content += f'<p class="state ko" id="error" role="alert">{escape(shown)}</p>'
    if session.status == "open":
        content += _card_form(session, language)
    return page(language, "title", content)
