"""USSD over HTTP callbacks: a gateway posts each step of a session, we answer `CON …` (more) or `END …`.

The gateway sends the whole path of the customer's answers joined by `*` ("", "2", "2*1234567890123"), so
the session needs no server-side state: each callback walks the path again. Proximus-style direct codes
(`*121*<PIN>#`) redeem a voucher in one step. Every answer comes from a self-care or voucher service call.
"""

from __future__ import annotations

import re
from typing import Final

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import override, pgettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from topup.channels import phone_words as words
from topup.channels.gateway_auth import gateway, ussd_check
from topup.domain.errors import DomainError
from topup.domain.identifiers import parse_belgian_mobile
from topup.domain.money import Money
from topup.ports import PortUnavailable
from topup.services import selfcare, vouchers

# A USSD string is 160 octets: 182 GSM 7-bit characters. Gateways cut longer replies wherever they like.
MAX_REPLY_CHARS: Final = 182
MAX_INVALID_ANSWERS: Final = 3
ELLIPSIS: Final = "..."  # plain dots: "…" is not in the GSM alphabet and would force UCS-2 on the handset
DIRECT_REDEEM: Final = re.compile(r"\*121\*([0-9 ]{1,40})#")
CHANNEL: Final = "ussd"

_MENU: Final = ("1", "2", "3", "4", "5")
_YES, _NO = "1", "2"


def fit(reply: str, limit: int = MAX_REPLY_CHARS) -> str:
    """`reply` cut to `limit` characters at a line or word boundary when one is near, marked with dots."""
    reply = reply.rstrip()
    if len(reply) <= limit:
        return reply
    cut = reply[: limit - len(ELLIPSIS)]
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    if boundary >= len(cut) - 30:
        cut = cut[:boundary]
    return cut.rstrip() + ELLIPSIS


def _reply(more: bool, text: str) -> HttpResponse:
    body = fit(("CON " if more else "END ") + text)
    return HttpResponse(body, content_type="text/plain; charset=utf-8")


# The gateway calls us server to server: no browser, cookie or session is involved, so a CSRF token has
# nothing to protect and the gateway could not send one. It signs each request instead (gateway_auth).
@csrf_exempt
@require_POST
@gateway(CHANNEL, ussd_check)
def ussd_callback(request: HttpRequest) -> HttpResponse:
    try:
        line = parse_belgian_mobile(request.POST.get("phoneNumber", ""))
    except DomainError as error:
        with override(selfcare.DEFAULT_LANGUAGE):
            return _reply(False, words.error_text(error.code))
    language = selfcare.language_of(line)
    direct = DIRECT_REDEEM.fullmatch(request.POST.get("serviceCode", "").strip())
    text = request.POST.get("text", "").strip()
    session = request.POST.get("sessionId", "").strip()[:80] or line
    with override(language):
        try:
            if direct is not None:
                return _reply(False, _redeem(line, direct.group(1), language, session))
            more, answer = _walk(line, language, text.split("*") if text else [], session)
        except DomainError as error:
            more, answer = False, words.error_text(error.code)
        except PortUnavailable:
            more, answer = False, words.error_text("carrier_unavailable")
        return _reply(more, answer)


def _walk(line: str, language: str, answers: list[str], session: str) -> tuple[bool, str]:
    """Replay the customer's answers from the main menu; (more input expected, text) for the last one."""
    state, invalid, last_invalid = "main", 0, False
    bundles: list[tuple[str, str, Money]] = []
    chosen: tuple[str, str, Money] | None = None
    for answer in (a.strip() for a in answers):
        last_invalid = False
        if state == "main" and answer in _MENU:
            if answer in ("1", "3"):
                return False, _information(line, answer)
            if answer == "5" and not (bundles := selfcare.bundles_for(line)):
                return False, words.no_plans_text()
            state = {"2": "pin", "4": "language", "5": "bundle"}[answer]
        elif state == "bundle" and answer.isdigit() and 1 <= int(answer) <= len(bundles):
            state, chosen = "confirm", bundles[int(answer) - 1]
        elif state == "confirm" and chosen is not None and answer in (_YES, _NO):
            if answer == _NO:
                return False, pgettext("ussd", "Nothing was bought.")
            return False, words.purchase_text(selfcare.buy_from_credit(line, chosen[0]))
        elif state == "pin":
            return False, _redeem(line, answer, language, session)
        elif state == "language" and answer in words.LANGUAGE_KEYS:
            with override(selfcare.set_language(line, words.LANGUAGE_KEYS[answer])):
                return False, pgettext("ussd", "Language changed to English.")
        else:
            invalid, last_invalid = invalid + 1, True
            if invalid >= MAX_INVALID_ANSWERS:
                return False, pgettext("ussd", "Too many invalid choices. Please dial again.")
    prompt = _prompt(state, bundles, chosen)
    return True, (pgettext("ussd", "Invalid choice.") + "\n" + prompt) if last_invalid else prompt


def _information(line: str, answer: str) -> str:
    """The balance (1) or the plans (3): answers that end the session."""
    if answer == "1":
        return "\n".join(words.balance_lines(selfcare.balance(line)))
    return _plans(line)


def _prompt(state: str, bundles: list[tuple[str, str, Money]], chosen: tuple[str, str, Money] | None) -> str:
    if state == "bundle":
        listing = [
            f"{key} {name} {words.money_short(price)}" for key, (_c, name, price) in enumerate(bundles, 1)
        ]
        return "\n".join([pgettext("ussd", "Buy from credit:"), *listing])
    if state == "confirm" and chosen is not None:
        question = pgettext("ussd", "Buy %(plan)s for %(price)s from your credit?") % {
            "plan": chosen[1],
            "price": words.money_short(chosen[2]),
        }
        return f"{question}\n{_YES} {pgettext('ussd', 'Yes')}\n{_NO} {pgettext('ussd', 'No')}"
    if state == "pin":
        return pgettext("ussd", "Enter your voucher PIN:")
    if state == "language":
        options = " ".join(
            f"{key} {words.LANGUAGE_LABELS[lang]}" for key, lang in words.LANGUAGE_KEYS.items()
        )
        return pgettext("ussd", "Choose a language:") + "\n" + options
    items = (
        pgettext("ussd", "Balance"),
        pgettext("ussd", "Redeem voucher"),
        pgettext("ussd", "Plans"),
        pgettext("ussd", "Language"),
        pgettext("ussd", "Buy bundle from credit"),
    )
    return "\n".join(f"{key} {item}" for key, item in zip(_MENU, items, strict=True))


def _redeem(line: str, pin: str, language: str, session: str) -> str:
    callers = [f"line:{line}", f"ussd:{session}"]  # the gateway's session is the source
    order = vouchers.redeem(pin, msisdn=line, channel=CHANNEL, caller_keys=callers, language=language)
    return words.redeemed_text(order)


def _plans(line: str) -> str:
    """Plans as `code name price` lines, as many as fit, and always where to buy them (no buying by USSD)."""
    footer = words.buy_online_text(words.site_address())
    budget = MAX_REPLY_CHARS - len("END ") - len(footer) - 1
    lines: list[str] = []
    for code, name, price in selfcare.plans_for(line):
        entry = f"{code} {name} {words.money_short(price)}"
        if sum(len(x) + 1 for x in lines) + len(entry) + 1 > budget:
            break
        lines.append(entry)
    return "\n".join([*(lines or [words.no_plans_text()]), footer])


urlpatterns = [path("channels/ussd", ussd_callback, name="ussd-callback")]
