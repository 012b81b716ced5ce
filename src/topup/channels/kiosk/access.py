"""Who the kiosk is and what it remembers: the enrolment cookie (signed, HttpOnly, naming the enrolment that
binds this browser to a kiosk terminal), the idle timeout that forgets the customer on the server too, and
the customer's language for the page.

Every kiosk page goes through `kiosk_page`: without a valid enrolment the browser gets a bare 403 page; a
session idle for longer than the timeout is flushed before the page is drawn (not just the screen reset).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Final

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from topup.services import kiosk_enrolment
from topup.services.kiosk_cash import Purchase
from topup.settings import CONFIG

COOKIE: Final = "topup_kiosk"
COOKIE_SALT: Final = "topup.kiosk.enrolment"
COOKIE_AGE_S: Final = 5 * 365 * 24 * 3600  # the kiosk's browser stays enrolled until staff revoke it
STATE: Final = "kiosk"  # the session key of what the current customer chose
LANGUAGES: Final = ("nl", "fr", "de", "en", "zh-hans")

View = Callable[..., HttpResponse]


def enrolment_cookie(response: HttpResponse, enrolment_id: str) -> HttpResponse:
    response.set_cookie(
        COOKIE, signing.dumps(enrolment_id, salt=COOKIE_SALT), max_age=COOKIE_AGE_S, httponly=True,
        secure=CONFIG.is_production, samesite="Strict", path="/kiosk/",
    )  # fmt: skip
    return response


def terminal_of(request: HttpRequest) -> str | None:
    """The kiosk terminal this browser is enrolled for, or None (no cookie, forged, revoked)."""
    raw = request.COOKIES.get(COOKIE, "")
    try:
        enrolment_id = signing.loads(raw, salt=COOKIE_SALT)
    except signing.BadSignature:
        return None
    return kiosk_enrolment.terminal_of(enrolment_id) if isinstance(enrolment_id, str) else None


def spaced(e164: str) -> str:
    """+32470123456 as Belgians write it on a screen: 0470 12 34 56 (other numbers as they are)."""
    if e164.startswith("+32") and len(e164) == 12:
        digits = e164[3:]
        return f"0{digits[:3]} {digits[3:5]} {digits[5:7]} {digits[7:]}"
    return e164


def state(request: HttpRequest) -> dict[str, str]:
    value = request.session.get(STATE)
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def purchase(request: HttpRequest) -> Purchase | None:
    """What the customer chose on the screens, once a plan is chosen (None before)."""
    chosen = state(request)
    if not chosen.get("plan_id"):
        return None
    return Purchase(
        plan_id=chosen["plan_id"], msisdn=chosen.get("msisdn", ""),
        network_confirmed=chosen.get("network") != chosen.get("guess"), language=chosen.get("language", "en"),
    )  # fmt: skip


def save(request: HttpRequest, **changes: str) -> None:
    request.session[STATE] = {**state(request), **changes}


def forget(request: HttpRequest) -> None:
    """Forget the customer: a new, empty session (the old one deleted on the server)."""
    request.session.flush()


def _idle(request: HttpRequest) -> bool:
    touched = request.session.get("kiosk_touched_at")
    return isinstance(touched, (int, float)) and time.time() - touched > CONFIG.kiosk_idle_timeout_s


def not_enrolled(request: HttpRequest) -> HttpResponse:
    return render(request, "kiosk/not_enrolled.html", {}, status=403)


def kiosk_page(view: View) -> View:
    """Enrolled browsers only; an idle session is flushed; the customer's language is active; each page
    counts as a touch (`touch=False` views, such as the cash status the page polls, do not)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        terminal_id = terminal_of(request)
        if terminal_id is None:
            return not_enrolled(request)
        if _idle(request):
            from topup.channels.kiosk.cash_views import cancel_open_cash  # noqa: PLC0415

            cancel_open_cash(request, terminal_id)
            forget(request)
        request.session["kiosk_touched_at"] = time.time()
        language = state(request).get("language", "en")
        with translation.override(language if language in LANGUAGES else "en"):
            request.LANGUAGE_CODE = translation.get_language()
            return view(request, terminal_id, *args, **kwargs)

    return wrapped


def context(request: HttpRequest, **extra: object) -> dict[str, object]:
    """What every kiosk template gets: the idle timeout (read by kiosk.js from data attributes)."""
    return {
        "number": spaced(state(request).get("msisdn", "")),
        "idle_timeout_s": CONFIG.kiosk_idle_timeout_s,
        "idle_warning_s": min(10, CONFIG.kiosk_idle_timeout_s),
        "languages": settings.LANGUAGES,
        **extra,
    }
