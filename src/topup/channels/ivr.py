"""The voice menu (IVR) as an HTTP dialogue: one step logic, rendered as TwiML and as VoiceXML 2.1.

The state travels in the action URL of each prompt (`step`, `lang`, `tries`), so no server-side session is
kept: welcome → language → menu (1 balance, 2 voucher PIN, 3 plans, 4 buy from credit, 9 repeat) → results.
The plan chosen to buy travels in the step (`buy:<code>`) until the caller confirms it. A caller gets three
tries at each prompt, then a polite goodbye. Answers come from the self-care and voucher services.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import get_language, override, pgettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from topup.channels import phone_words as words
from topup.channels.gateway_auth import gateway, ivr_check
from topup.domain.errors import DomainError
from topup.domain.identifiers import parse_belgian_mobile
from topup.domain.money import Money
from topup.ports import PortUnavailable
from topup.services import selfcare, vouchers

MAX_TRIES: Final = 3
PIN_MAX_DIGITS: Final = 16
CHANNEL: Final = "ivr"
MENU_KEYS: Final = ("1", "2", "3", "4", "9")
CONFIRM_KEYS: Final = ("1", "2")
BUY_STEP: Final = "buy"
VXML_NS: Final = "http://www.w3.org/2001/vxml"
XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Say:
    text: str
    voice: str  # BCP 47 language of the text-to-speech voice


@dataclass(frozen=True)
class Gather:
    """Wait for keys, then post them (as `Digits`) to `step`; `keys` empty means any digits (a PIN)."""

    step: str
    prompts: tuple[Say, ...]
    keys: tuple[str, ...] = ()
    max_digits: int = 1
    finish_on_key: str = ""


@dataclass(frozen=True)
class Turn:
    says: tuple[Say, ...] = ()
    gather: Gather | None = None
    language: str = selfcare.DEFAULT_LANGUAGE
    tries: int = 0
    hangup: bool = field(default=False)


def _say(text: str) -> Say:
    """`text` in the voice of the active language (the caller wraps this in `override`)."""
    return Say(text, words.VOICE_LANGUAGES.get(get_language() or "", "en-GB"))


# ---------------------------------------------------------------- the dialogue (shared by both renderings)


def next_turn(
    step: str, digits: str | None, caller: str, language: str | None, tries: int, *, call: str = ""
) -> Turn:
    """What the caller hears next after pressing `digits` at `step` (None: no key pressed); `call` is
    the platform's call id (CallSid), the source of a voucher attempt."""
    try:
        line = parse_belgian_mobile(caller)
    except DomainError as error:
        with override(selfcare.DEFAULT_LANGUAGE):
            return Turn(says=(_say(words.error_text(error.code)),), hangup=True)
    lang = language if language and language in words.VOICE_LANGUAGES else selfcare.language_of(line)
    keys = (digits or "").strip().strip("#*")
    with override(lang):
        if step == "language":
            if keys in words.LANGUAGE_KEYS:
                chosen = selfcare.set_language(line, words.LANGUAGE_KEYS[keys])
                with override(chosen):
                    return _menu(chosen)
            return _retry(_language_choice(lang), lang, tries, keys)
        if step == "menu":
            return _menu_choice(line, lang, keys, tries)
        if step == "pin":
            return _pin(line, lang, keys, tries, call or line)
        if step == BUY_STEP:
            return _buy_choice(line, lang, keys, tries)
        if step.startswith(f"{BUY_STEP}:"):
            return _buy_confirm(line, lang, step.removeprefix(f"{BUY_STEP}:"), keys, tries)
        welcome = _say(pgettext("voice", "Welcome to Topup."))
        return Turn(says=(welcome,), gather=_language_choice(lang), language=lang)


def _language_choice(lang: str) -> Gather:
    prompts = []
    for key, option in words.LANGUAGE_KEYS.items():
        with override(option):  # each option is said in its own language
            prompts.append(_say(pgettext("voice", "For English, press %(key)s.") % {"key": key}))
    return Gather("language", tuple(prompts), keys=tuple(words.LANGUAGE_KEYS))


def _menu_gather() -> Gather:
    text = pgettext(
        "voice",
        "For your balance, press 1. To top up with a voucher, press 2. To hear our plans, press 3. "
        "To hear this again, press 9.",
    )
    buy = pgettext("voice", "To buy a plan from your credit, press 4.")
    return Gather("menu", (_say(text), _say(buy)), keys=MENU_KEYS)


def _menu(lang: str, says: tuple[Say, ...] = ()) -> Turn:
    return Turn(says=says, gather=_menu_gather(), language=lang)


def _pin_gather() -> Gather:
    prompt = _say(pgettext("voice", "Key in your voucher PIN, then press the hash key."))
    return Gather("pin", (prompt,), max_digits=PIN_MAX_DIGITS, finish_on_key="#")


def _retry(gather: Gather, lang: str, tries: int, keys: str, says: tuple[Say, ...] = ()) -> Turn:
    """Ask again after a wrong or missing key; after the third, say goodbye and hang up."""
    if not says:
        says = (
            _say(pgettext("voice", "Sorry, that is not a valid choice."))
            if keys
            else _say(pgettext("voice", "Sorry, we did not hear a choice.")),
        )
    if tries + 1 >= MAX_TRIES:
        goodbye = pgettext("voice", "We could not understand your choice. Please call again later. Goodbye.")
        return Turn(says=(*says, _say(goodbye)), language=lang, hangup=True)
    return Turn(says=says, gather=gather, language=lang, tries=tries + 1)


def _menu_choice(line: str, lang: str, keys: str, tries: int) -> Turn:
    if keys == "9":
        return _menu(lang)
    if keys == "2":
        return Turn(gather=_pin_gather(), language=lang)
    if keys == "4":
        return _buy_list(line, lang)
    if keys not in MENU_KEYS:
        return _retry(_menu_gather(), lang, tries, keys)
    try:
        if keys == "1":
            sentences = words.balance_spoken(selfcare.balance(line))
        else:
            sentences = words.plans_spoken(selfcare.plans_for(line), words.site_address())
    except DomainError as error:
        sentences = [words.error_text(error.code)]
    except PortUnavailable:
        sentences = [words.error_text("carrier_unavailable")]
    return _menu(lang, tuple(_say(s) for s in sentences))


def _pin(line: str, lang: str, keys: str, tries: int, call: str) -> Turn:
    if not keys:
        return _retry(_pin_gather(), lang, tries, keys)
    try:
        order = vouchers.redeem(
            keys, msisdn=line, channel=CHANNEL, caller_keys=[f"line:{line}", f"call:{call}"], language=lang
        )
    except DomainError as error:
        return _retry(_pin_gather(), lang, tries, keys, says=(_say(words.error_text(error.code)),))
    goodbye = pgettext("voice", "Thank you for calling. Goodbye.")
    return Turn(says=(_say(words.redeemed_spoken(order)), _say(goodbye)), language=lang, hangup=True)


def _bundles_gather(bundles: list[tuple[str, str, Money]]) -> Gather:
    prompts = tuple(
        _say(
            pgettext("voice", "For %(name)s at %(price)s, press %(key)s.")
            % {"name": words.spoken(name), "price": words.money_spoken(price), "key": key}
        )
        for key, (_code, name, price) in enumerate(bundles, 1)
    )
    return Gather(BUY_STEP, prompts, keys=tuple(str(key) for key in range(1, len(bundles) + 1)))


def _buy_list(line: str, lang: str) -> Turn:
    try:
        bundles = selfcare.bundles_for(line)[:9]
    except DomainError as error:
        return _menu(lang, (_say(words.error_text(error.code)),))
    if not bundles:
        return _menu(lang, (_say(words.no_plans_text()),))
    return Turn(gather=_bundles_gather(bundles), language=lang)


def _buy_choice(line: str, lang: str, keys: str, tries: int) -> Turn:
    """The caller keyed a plan number: ask to confirm the price, with the plan's code in the next step."""
    bundles = selfcare.bundles_for(line)[:9]
    if not keys.isdigit() or not 1 <= int(keys) <= len(bundles):
        return _retry(_bundles_gather(bundles), lang, tries, keys)
    code, name, price = bundles[int(keys) - 1]
    return Turn(gather=_confirm_gather(code, name, price), language=lang)


def _confirm_gather(code: str, name: str, price: Money) -> Gather:
    text = pgettext(
        "voice", "%(name)s costs %(price)s from your credit. To confirm, press 1. To cancel, press 2."
    ) % {"name": words.spoken(name), "price": words.money_spoken(price)}
    return Gather(f"{BUY_STEP}:{code}", (_say(text),), keys=CONFIRM_KEYS)


def _buy_confirm(line: str, lang: str, code: str, keys: str, tries: int) -> Turn:
    plan = next((p for p in selfcare.bundles_for(line) if p[0] == code), None)
    if plan is None:
        return _menu(lang, (_say(words.error_text("plan_not_found")),))
    if keys not in CONFIRM_KEYS:
        return _retry(_confirm_gather(*plan), lang, tries, keys)
    if keys == "2":
        return _menu(lang, (_say(pgettext("voice", "Nothing was bought.")),))
    try:
        result = selfcare.buy_from_credit(line, code)
    except DomainError as error:
        return _menu(lang, (_say(words.error_text(error.code)),))
    except PortUnavailable:
        return _menu(lang, (_say(words.error_text("carrier_unavailable")),))
    if not result.ok:
        return _menu(lang, (_say(words.purchase_spoken(result)),))
    goodbye = pgettext("voice", "Thank you for calling. Goodbye.")
    return Turn(says=(_say(words.purchase_spoken(result)), _say(goodbye)), language=lang, hangup=True)


def _turn_for(request: HttpRequest) -> Turn:
    try:
        tries = max(0, int(request.GET.get("tries", "0")))
    except ValueError:
        tries = 0
    digits = request.POST.get("Digits")
    caller, call = request.POST.get("From", ""), request.POST.get("CallSid", "").strip()[:80]
    return next_turn(request.GET.get("step", ""), digits, caller, request.GET.get("lang"), tries, call=call)


def _action(request: HttpRequest, turn: Turn, step: str) -> str:
    query = urlencode({"step": step, "lang": turn.language, "tries": turn.tries})
    return f"{request.path}?{query}"


def _xml(root: ET.Element, content_type: str) -> HttpResponse:
    return HttpResponse(ET.tostring(root, encoding="utf-8", xml_declaration=True), content_type=content_type)


# ---------------------------------------------------------------- TwiML


def _twiml_say(parent: ET.Element, say: Say) -> None:
    ET.SubElement(parent, "Say", {"language": say.voice}).text = say.text


def render_twiml(request: HttpRequest, turn: Turn) -> HttpResponse:
    response = ET.Element("Response")
    for say in turn.says:
        _twiml_say(response, say)
    if turn.gather is not None:
        action = _action(request, turn, turn.gather.step)
        attributes = {"input": "dtmf", "numDigits": str(turn.gather.max_digits), "action": action}
        attributes |= {"method": "POST", "timeout": "8" if turn.gather.finish_on_key else "5"}
        if turn.gather.finish_on_key:
            attributes["finishOnKey"] = turn.gather.finish_on_key
        gather = ET.SubElement(response, "Gather", attributes)
        for say in turn.gather.prompts:
            _twiml_say(gather, say)
        # No key before the timeout: Twilio goes on to the next verb; come back without Digits (one try used).
        ET.SubElement(response, "Redirect", {"method": "POST"}).text = action
    if turn.hangup:
        ET.SubElement(response, "Hangup")
    return _xml(response, "text/xml; charset=utf-8")


# The telephony platform calls us server to server (no browser, no cookie): CSRF has nothing to protect.
# It signs each request with its auth token instead (X-Twilio-Signature, gateway_auth).
@csrf_exempt
@require_POST
@gateway(CHANNEL, ivr_check)
def twiml_voice(request: HttpRequest) -> HttpResponse:
    return render_twiml(request, _turn_for(request))


# ---------------------------------------------------------------- VoiceXML 2.1


def _prompt(parent: ET.Element, say: Say) -> None:
    ET.SubElement(parent, "prompt", {XML_LANG: say.voice}).text = say.text


def _grammar(parent: ET.Element, gather: Gather) -> None:
    if not gather.keys:
        src = f"builtin:dtmf/digits?minlength=1;maxlength={gather.max_digits}"
        ET.SubElement(parent, "grammar", {"mode": "dtmf", "src": src})
        return
    grammar = ET.SubElement(parent, "grammar", {"mode": "dtmf", "version": "1.0", "root": "keys"})
    one_of = ET.SubElement(ET.SubElement(grammar, "rule", {"id": "keys", "scope": "public"}), "one-of")
    for key in gather.keys:
        ET.SubElement(one_of, "item").text = key


def render_vxml(request: HttpRequest, turn: Turn) -> HttpResponse:
    root = ET.Element(
        "vxml", {"version": "2.1", "xmlns": VXML_NS, XML_LANG: words.VOICE_LANGUAGES[turn.language]}
    )
    form = ET.SubElement(root, "form", {"id": "turn"})
    if turn.says:
        block = ET.SubElement(form, "block")
        for say in turn.says:
            _prompt(block, say)
    if turn.gather is not None:
        action = _action(request, turn, turn.gather.step)
        digits = ET.SubElement(form, "field", {"name": "Digits"})
        if turn.gather.finish_on_key:
            ET.SubElement(digits, "property", {"name": "termchar", "value": turn.gather.finish_on_key})
        _grammar(digits, turn.gather)
        for say in turn.gather.prompts:
            _prompt(digits, say)
        filled = ET.SubElement(digits, "filled")
        ET.SubElement(filled, "submit", {"next": action, "method": "post", "namelist": "Digits"})
        # A wrong or missing key comes back empty, so the server counts the try as TwiML's path does.
        catch = ET.SubElement(digits, "catch", {"event": "noinput nomatch"})
        ET.SubElement(catch, "assign", {"name": "Digits", "expr": "''"})
        ET.SubElement(catch, "submit", {"next": action, "method": "post", "namelist": "Digits"})
    elif turn.hangup:
        ET.SubElement(ET.SubElement(form, "block"), "disconnect")
    return _xml(root, "application/voicexml+xml; charset=utf-8")


@csrf_exempt
@require_POST
@gateway(CHANNEL, ivr_check)
def vxml_voice(request: HttpRequest) -> HttpResponse:
    return render_vxml(request, _turn_for(request))


urlpatterns = [
    path("channels/ivr/voice", twiml_voice, name="ivr-twiml"),
    path("channels/ivr/vxml", vxml_voice, name="ivr-vxml"),
]
