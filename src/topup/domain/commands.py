"""Text commands customers send by SMS (and key in by USSD/IVR menus): one parser, five languages.

Keywords are case-insensitive and may be written in English, Dutch, French, German or Chinese, e.g.
`BAL` / `SALDO` / `SOLDE` / `GUTHABEN` / `余额`; `TOPUP <PIN>` / `OPLADEN` / `RECHARGE` / `AUFLADEN` / `充值`.
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
    CommandKind.HELP: ("HELP", "HULP", "AIDE", "HILFE", "帮助", "?"),
}
_BY_WORD = {word: kind for kind, words in KEYWORDS.items() for word in words}
# Language names a customer may type after LANG (codes and names in the language itself).
_LANGUAGE_WORDS = {
    "EN": "en", "ENGLISH": "en", "NL": "nl", "NEDERLANDS": "nl", "VLAAMS": "nl", "FR": "fr", "FRANCAIS": "fr",
    "FRANÇAIS": "fr", "DE": "de", "DEUTSCH": "de", "ZH": "zh-hans", "CN": "zh-hans", "中文": "zh-hans",
    "汉语": "zh-hans", "简体中文": "zh-hans",
}  # fmt: skip
# Chinese is written without spaces: "充值123456" or "余额" must work as well as "充值 123456".
_CJK_KEYWORD = re.compile(r"^(余额|查询|充值|购买|买|套餐|语言|帮助)\s*(.*)$")


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    argument: str = ""  # PIN, plan code or language code, normalised
    keyword_language: str | None = None  # the language the keyword itself was written in, when it tells


_KEYWORD_LANGUAGE = {
    **dict.fromkeys(("SALDO", "OPLADEN", "HERLADEN", "KOOP", "KOPEN", "BUNDELS", "TAAL", "HULP"), "nl"),
    **dict.fromkeys(("SOLDE", "RECHARGE", "RECHARGER", "ACHAT", "ACHETER", "FORMULES", "FORFAITS"), "fr"),
    **dict.fromkeys(("LANGUE", "AIDE"), "fr"),
    **dict.fromkeys(("GUTHABEN", "AUFLADEN", "KAUFEN", "TARIFE", "SPRACHE", "HILFE"), "de"),
}


def parse(text: str) -> Command:
    """The command in an SMS; unknown or empty text is HELP."""
    cleaned = " ".join(ascii_digits(text).split())  # full-width digits and letters: what was meant
    match = _CJK_KEYWORD.match(cleaned)
    if match:
        cjk_kind = _BY_WORD[match.group(1)]
        return Command(cjk_kind, _argument(cjk_kind, match.group(2)), "zh-hans")
    head, _, rest = cleaned.partition(" ")
    word = head.upper()
    kind = _BY_WORD.get(word)
    if kind is None:
        return Command(CommandKind.HELP)
    language = _KEYWORD_LANGUAGE.get(word)
    return Command(kind, _argument(kind, rest), language)


def _argument(kind: CommandKind, rest: str) -> str:
    rest = rest.strip()
    if kind is CommandKind.TOPUP:
        return re.sub(r"[\s\-.]", "", rest)  # PINs are often typed in groups: 1234 5678 9012
    if kind is CommandKind.LANGUAGE:
        return _LANGUAGE_WORDS.get(rest.upper(), "")
    return rest.upper()
