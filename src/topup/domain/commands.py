"""Text commands customers send by SMS (and key in by USSD/IVR menus): one parser, five languages.

Keywords are case-insensitive and may be written in English, Dutch, French, German or Chinese, e.g.
`BAL` / `SALDO` / `SOLDE` / `GUTHABEN` / `余额`; `TOPUP <PIN>` / `OPLADEN` / `RECHARGE` / `AUFLADEN` / `充值`.
A purchase may carry a promo code after the plan code, with or without the word for it:
`BUY D7G5 CODE FLYER5`, `KOOP D7G5 FLYER5`, `KAUFEN D7G5 GUTSCHEIN FLYER5`, `购买D7G5优惠码FLYER5`.
Anything else is answered with help, never with an error dump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from topup.domain.identifiers import ascii_digits


class CommandKind(StrEnum):
    BALANCE = "balance"
    TOPUP = "topup"  # redeem a voucher PIN
    BUY = "buy"  # buy a plan by its short code
    PLANS = "plans"
    LANGUAGE = "language"
    REMINDERS = "reminders"  # bundle reminders on or off: argument "on" | "off"
    HELP = "help"


LANGUAGES = ("en", "nl", "fr", "de", "zh-hans")

KEYWORDS: dict[CommandKind, tuple[str, ...]] = {
    CommandKind.BALANCE: ("BAL", "BALANCE", "SALDO", "SOLDE", "GUTHABEN", "余额", "查询"),
    CommandKind.TOPUP: (
        "TOPUP",
        "TOP-UP",
        "OPLADEN",
        "HERLADEN",
        "RECHARGE",
        "RECHARGER",
        "AUFLADEN",
        "充值",
    ),
    CommandKind.BUY: ("BUY", "KOOP", "KOPEN", "ACHAT", "ACHETER", "KAUFEN", "购买", "买"),
    CommandKind.PLANS: ("PLANS", "PLAN", "BUNDELS", "FORMULES", "FORFAITS", "TARIFE", "套餐"),
    CommandKind.LANGUAGE: ("LANG", "TAAL", "LANGUE", "SPRACHE", "语言"),
    CommandKind.REMINDERS: ("REMINDERS", "REMINDER", "HERINNERINGEN", "RAPPELS", "ERINNERUNGEN", "提醒"),
    CommandKind.HELP: ("HELP", "HULP", "AIDE", "HILFE", "帮助", "?"),
}
_BY_WORD = {word: kind for kind, words in KEYWORDS.items() for word in words}
# Language names a customer may type after LANG (codes and names in the language itself).
_LANGUAGE_WORDS = {
    "EN": "en", "ENGLISH": "en", "NL": "nl", "NEDERLANDS": "nl", "VLAAMS": "nl", "FR": "fr", "FRANCAIS": "fr",
    "FRANÇAIS": "fr", "DE": "de", "DEUTSCH": "de", "ZH": "zh-hans", "CN": "zh-hans", "中文": "zh-hans",
    "汉语": "zh-hans", "简体中文": "zh-hans",
}  # fmt: skip
# The word that may announce a promo code after BUY <plan code> (CODE is the same word in en, nl, fr, de).
PROMO_WORDS = ("CODE", "PROMO", "PROMOCODE", "KORTINGSCODE", "GUTSCHEIN", "优惠码", "折扣码")
PROMO_CODE_MAX = 40
_CJK_PROMO_WORDS = re.compile(r"(优惠码|折扣码)")
# Chinese is written without spaces: "充值123456" or "余额" must work as well as "充值 123456".
_CJK_KEYWORD = re.compile(r"^(余额|查询|充值|购买|买|套餐|语言|提醒|帮助)\s*(.*)$")
# Reminders off or on: `REMINDERS OFF`, `STOP REMINDERS`, `HERINNERINGEN UIT`, `RAPPELS NON`,
# `关闭提醒`, `提醒 开`.
_SWITCH_WORDS = {
    **dict.fromkeys(("OFF", "UIT", "NON", "AUS", "STOP", "关", "关闭", "停止", "取消"), "off"),
    **dict.fromkeys(("ON", "AAN", "OUI", "AN", "START", "开", "开启", "打开"), "on"),
}
_REMINDER_WORDS = ("REMINDERS", "REMINDER", "HERINNERINGEN", "RAPPELS", "ERINNERUNGEN")
_CJK_SWITCH = re.compile(r"^(关闭|停止|取消|开启|打开)\s*提醒$")


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    argument: str = ""  # PIN, plan code or language code, normalised
    keyword_language: str | None = None  # the language the keyword itself was written in, when it tells
    promo_code: str = ""  # BUY's promo code, upper-case ("" when none was sent)


_KEYWORD_LANGUAGE = {
    **dict.fromkeys(("SALDO", "OPLADEN", "HERLADEN", "KOOP", "KOPEN", "BUNDELS", "TAAL", "HULP"), "nl"),
    **dict.fromkeys(("SOLDE", "RECHARGE", "RECHARGER", "ACHAT", "ACHETER", "FORMULES", "FORFAITS"), "fr"),
    **dict.fromkeys(("LANGUE", "AIDE", "RAPPELS"), "fr"),
    **dict.fromkeys(("HERINNERINGEN",), "nl"),
    **dict.fromkeys(("GUTHABEN", "AUFLADEN", "KAUFEN", "TARIFE", "SPRACHE", "HILFE", "ERINNERUNGEN"), "de"),
}


def parse(text: str) -> Command:
    """The command in an SMS; unknown or empty text is HELP."""
    cleaned = " ".join(ascii_digits(text).split())  # full-width digits and letters: what was meant
    switched = _reminders_switch(cleaned)
    if switched is not None:
        return switched
    match = _CJK_KEYWORD.match(cleaned)
    if match:
        cjk_kind = _BY_WORD[match.group(1)]
        return _command(cjk_kind, match.group(2), "zh-hans")
    head, _, rest = cleaned.partition(" ")
    word = head.upper()
    kind = _BY_WORD.get(word)
    if kind is None:
        return Command(CommandKind.HELP)
    return _command(kind, rest, _KEYWORD_LANGUAGE.get(word))


def _command(kind: CommandKind, rest: str, language: str | None) -> Command:
    if kind is not CommandKind.BUY:
        return Command(kind, _argument(kind, rest), language)
    plan, promo = _plan_and_promo(rest)
    return Command(kind, plan, language, promo_code=promo)


def _plan_and_promo(rest: str) -> tuple[str, str]:
    """`<plan code> [CODE] [<promo code>]`: the promo code is what follows the plan code, its word dropped."""
    words = _CJK_PROMO_WORDS.sub(r" \1 ", rest).upper().split()
    if not words:
        return "", ""
    plan, after = words[0], words[1:]
    if after and after[0] in PROMO_WORDS:
        after = after[1:]
    return plan, "".join(after)[:PROMO_CODE_MAX]


def _reminders_switch(cleaned: str) -> Command | None:
    """`STOP REMINDERS` / `START RAPPELS` (verb first) and `关闭提醒` / `开启提醒` (Chinese, verb first)."""
    cjk = _CJK_SWITCH.match(cleaned)
    if cjk:
        return Command(CommandKind.REMINDERS, _SWITCH_WORDS[cjk.group(1)], "zh-hans")
    verb, _, rest = cleaned.upper().partition(" ")
    if verb in ("STOP", "START") and rest in _REMINDER_WORDS:
        return Command(CommandKind.REMINDERS, _SWITCH_WORDS[verb], _KEYWORD_LANGUAGE.get(rest))
    return None


def _argument(kind: CommandKind, rest: str) -> str:
    rest = rest.strip()
    if kind is CommandKind.TOPUP:
        return re.sub(r"[\s\-.]", "", rest)  # PINs are often typed in groups: 1234 5678 9012
    if kind is CommandKind.LANGUAGE:
        return _LANGUAGE_WORDS.get(rest.upper(), "")
    if kind is CommandKind.REMINDERS:
        return _SWITCH_WORDS.get(rest.upper(), "")
    return rest.upper()
