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
from django.utils.translation import get_language, override, pgettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from topup.channels import phone_words as words
from topup.channels.gateway_auth import gateway, ussd_check
from topup.clock import now
from topup.domain.errors import DomainError
from topup.domain.identifiers import parse_belgian_mobile
from topup.domain.money import Money
from topup.ports import PortUnavailable
from topup.services import orders, pay_links, promotion_text, selfcare, vouchers
from topup.services.idempotency import make_key, scoped

# A USSD string is 160 octets: 182 GSM 7-bit characters. Gateways cut longer replies wherever they like.
MAX_REPLY_CHARS: Final = 182
MAX_INVALID_ANSWERS: Final = 3
ELLIPSIS: Final = "..."  # plain dots: "…" is not in the GSM alphabet and would force UCS-2 on the handset
DIRECT_REDEEM: Final = re.compile(r"\*121\*([0-9 ]{1,40})#")
CHANNEL: Final = "ussd"

_MENU: Final = ("1", "2", "3", "4", "5")
NO_PROMO_CODE: Final = "0"
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
    walk = _Walk(line, language, session)
    for answer in (a.strip() for a in answers):
        done = walk.step(answer)
        if done is not None:
            return False, done
        if walk.invalid >= MAX_INVALID_ANSWERS:
            return False, pgettext("ussd", "Too many invalid choices. Please dial again.")
    prompt = _prompt(walk.state, walk.bundles, walk.chosen, walk.priced)
    if walk.refusal:
        return True, walk.refusal + "\n" + prompt
    return True, (pgettext("ussd", "Invalid choice.") + "\n" + prompt) if walk.last_invalid else prompt


class _Walk:
    """Where a session's path has got to: main menu, voucher PIN, language, or a bundle being bought
    (chosen, then its promo code, then confirmed: from credit without a code, by card with one)."""

    def __init__(self, line: str, language: str, session: str) -> None:
        self.line, self.language, self.session = line, language, session
        self.state, self.invalid, self.last_invalid, self.refusal = "main", 0, False, ""
        self.bundles: list[tuple[str, str, Money]] = []
        self.chosen: tuple[str, str, Money] | None = None
        self.priced: orders.Priced | None = None  # the bundle priced with its promo code
        self.promo_code = ""

    def step(self, answer: str) -> str | None:
        """Take one answer; the session's last text when it ends here, else None."""
        self.last_invalid, self.refusal = False, ""
        state = self.state
        if state == "main" and answer in _MENU:
            if answer in ("1", "3"):
                return _information(self.line, answer)
            if answer == "5":
                self.bundles = selfcare.bundles_for(self.line)
                if not self.bundles:
                    return words.no_plans_text()
            self.state = {"2": "pin", "4": "language", "5": "bundle"}[answer]
        elif state == "bundle" and answer.isdigit() and 1 <= int(answer) <= len(self.bundles):
            self.state, self.chosen = "promo", self.bundles[int(answer) - 1]
        elif state == "promo" and answer:
            self._promo(answer)
        elif state in ("confirm", "confirm_paid") and self.chosen is not None and answer in (_YES, _NO):
            return self._confirmed(answer == _YES)
        elif state == "pin":
            return _redeem(self.line, answer, self.language, self.session)
        elif state == "language" and answer in words.LANGUAGE_KEYS:
            with override(selfcare.set_language(self.line, words.LANGUAGE_KEYS[answer])):
                return pgettext("ussd", "Language changed to English.")
        else:
            self.invalid, self.last_invalid = self.invalid + 1, True
        return None

    def _promo(self, answer: str) -> None:
        """No code: bought from credit as before. A code: priced with it (refused: said, asked again)."""
        if answer == NO_PROMO_CODE:
            self.state = "confirm"
            return
        assert self.chosen is not None
        request = orders.QuoteRequest(
            selfcare.plan_id_for_code(self.line, self.chosen[0]), msisdn=self.line, network_confirmed=True,
            promo_code=answer, channel="ussd",
        )  # fmt: skip
        try:
            self.priced = orders.price(request)
        except DomainError as error:
            if error.field != "promo_code":
                raise
            self.invalid, self.refusal = self.invalid + 1, words.error_text(error.code)
            return
        self.state, self.promo_code = "confirm_paid", answer

    def _confirmed(self, yes: bool) -> str:
        assert self.chosen is not None
        if not yes:
            return pgettext("ussd", "Nothing was bought.")
        if self.state == "confirm":
            return words.purchase_text(selfcare.buy_from_credit(self.line, self.chosen[0]))
        return _order_paid_by_link(self.line, self.chosen[0], self.promo_code, self.language, self.session)


def _order_paid_by_link(line: str, plan_code: str, promo_code: str, language: str, session: str) -> str:
    """The order (once per session and choice) awaiting payment by card; its link goes out by SMS."""
    plan_id = selfcare.plan_id_for_code(line, plan_code)
    request = orders.QuoteRequest(
        plan_id, msisdn=line, network_confirmed=True, promo_code=promo_code, channel="ussd"
    )
    fields = {"plan": plan_id, "line": line, "promo": promo_code}
    idem = make_key(scoped("ussd-orders", session), f"{plan_id}:{promo_code}"[:64], fields)
    stored = orders.place_order(request, payment_method="card", channel=CHANNEL, language=language, idem=idem)
    pay_links.send_by_sms(str(stored.body["id"]), now())
    total = stored.body["total"]
    assert isinstance(total, dict)
    to_pay = words.money_short(Money(int(total["amount_minor"]), str(total["currency"])))
    return pgettext("ussd", "We sent you a payment link by SMS. Pay %(total)s there to get your bundle.") % {
        "total": to_pay
    }


def _information(line: str, answer: str) -> str:
    """The balance (1) or the plans (3): answers that end the session."""
    if answer == "1":
        return "\n".join(words.balance_lines(selfcare.balance(line)))
    return _plans(line)


def _prompt(
    state: str,
    bundles: list[tuple[str, str, Money]],
    chosen: tuple[str, str, Money] | None,
    priced: orders.Priced | None = None,
) -> str:
    if state == "promo":
        return pgettext("ussd", "Promo code? (0 = none)")
    if state == "confirm_paid" and chosen is not None and priced is not None:
        return _paid_confirmation(chosen, priced)
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


def _paid_confirmation(chosen: tuple[str, str, Money], priced: orders.Priced) -> str:
    """The bundle's price, what each promotion saves, what is left to pay by card, and yes/no. The question
    and its answers always fit on the screen: the promotion lines give way (cut) when names are long."""
    quote = priced.quote
    language = get_language() or "en"
    question = pgettext("ussd", "Pay %(total)s by card? We text you the link.") % {
        "total": words.money_short(quote.total)
    }
    tail = "\n".join([question, f"{_YES} {pgettext('ussd', 'Yes')}", f"{_NO} {pgettext('ussd', 'No')}"])
    described = promotion_text.lines(
        quote.promotions, language, words.money_short, minus=promotion_text.GSM_MINUS
    )
    head = [f"{chosen[1]} {words.money_short(quote.price)}"]
    head += [f"{line.name} {line.effect}" for line in described]
    room = MAX_REPLY_CHARS - len("CON ") - len(tail) - 1
    return fit("\n".join(head), room) + "\n" + tail


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
