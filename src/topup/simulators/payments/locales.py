"""The hosted pages' languages: Stripe's Checkout `locale` values, the simulator's own strings, its money.

A Checkout Session takes `locale` as Stripe does (one of `STRIPE_LOCALES`; any other value is Stripe's 400
`Invalid locale: must be one of ...` on `param=locale`). A page is written in the session's locale when the
simulator has it, else in the browser's `Accept-Language`, else in English: `PAGE_LANGUAGES`. A PaymentIntent
has no locale at Stripe; Bancontact's bank page takes `payment_method_options[bancontact][preferred_language]`
(en, de, fr, nl), as Stripe documents. The simulator is a separate server with its own small table of
strings (it never reads Topup's gettext catalogue) and its own money formats.
"""

from __future__ import annotations

from topup.simulators.payments.errors import invalid

# Stripe's Checkout Session `locale` values (its API reference; "zh" is Simplified Chinese).
STRIPE_LOCALES = (
    "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA",
    "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru",
    "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
)  # fmt: skip
PAGE_LANGUAGES = ("en", "nl", "fr", "de", "zh")
DEFAULT = "en"
HTML_LANG = {"en": "en", "nl": "nl", "fr": "fr", "de": "de", "zh": "zh-Hans"}

_EN = {
    "title": "Topup checkout",
    "note": "Simulated Stripe test mode: no real money moves.",
    "not_found_title": "Not found",
    "not_found": "This payment does not exist.",
    "no_qr": "No such QR code.",
    "card_number": "Card number",
    "expiry": "Expiry",
    "expiry_hint": "MM / YY",
    "cvc": "CVC",
    "pay": "Pay {amount}",
    "cancel": "Cancel",
    "approve": "Approve",
    "decline": "Decline",
    "pay_with": "Pay with {method}",
    "pay_with.card": "Pay by card",
    "method.card": "Card",
    "method.bancontact": "Bancontact",
    "method.alipay": "Alipay",
    "method.wechat_pay": "WeChat Pay",
    "state.waiting": "Waiting for your approval",
    "state.processing": "Processing",
    "state.approved": "Payment approved",
    "state.declined": "Payment declined",
    "state.unconfirmed": "Not confirmed yet",
    "state.canceled": "Payment canceled",
    "state.refunded": "Refunded {amount}",
    "state.complete": "Payment complete",
    "state.expired": "This checkout expired",
    "step.card": "3-D Secure: confirm this payment with your bank (simulated).",
    "step.bancontact": "Bancontact: approve in your bank's app (simulated).",
    "step.alipay": "Alipay: log in and pay (simulated).",
    "step.wechat_pay": "Scan this QR code in WeChat to pay. {approve} or {decline} stand for the scan "
    "(simulated).",
    "qr_alt": "WeChat Pay QR code",
    "error.number_incomplete": "Your card number is incomplete.",
    "error.expiry_incomplete": "Your card's expiration date is incomplete.",
    "error.cvc_incomplete": "Your card's security code is incomplete.",
    "error.number_invalid": "Your card number is invalid. Use one of Stripe's test cards.",
    "error.declined": "Your card was declined. Try another card.",
}
_NL = {
    "title": "Topup afrekenen",
    "note": "Gesimuleerde testmodus van Stripe: er wordt geen echt geld betaald.",
    "not_found_title": "Niet gevonden",
    "not_found": "Deze betaling bestaat niet.",
    "no_qr": "Deze QR-code bestaat niet.",
    "card_number": "Kaartnummer",
    "expiry": "Vervaldatum",
    "expiry_hint": "MM / JJ",
    "cvc": "CVC",
    "pay": "Betaal {amount}",
    "cancel": "Annuleren",
    "approve": "Goedkeuren",
    "decline": "Weigeren",
    "pay_with": "Betalen met {method}",
    "pay_with.card": "Betalen met een kaart",
    "method.card": "Kaart",
    "method.bancontact": "Bancontact",
    "method.alipay": "Alipay",
    "method.wechat_pay": "WeChat Pay",
    "state.waiting": "Wacht op je goedkeuring",
    "state.processing": "Wordt verwerkt",
    "state.approved": "Betaling goedgekeurd",
    "state.declined": "Betaling geweigerd",
    "state.unconfirmed": "Nog niet bevestigd",
    "state.canceled": "Betaling geannuleerd",
    "state.refunded": "{amount} terugbetaald",
    "state.complete": "Betaling voltooid",
    "state.expired": "Deze betaalpagina is verlopen",
    "step.card": "3-D Secure: bevestig deze betaling bij je bank (gesimuleerd).",
    "step.bancontact": "Bancontact: keur de betaling goed in de app van je bank (gesimuleerd).",
    "step.alipay": "Alipay: log in en betaal (gesimuleerd).",
    "step.wechat_pay": "Scan deze QR-code in WeChat om te betalen. {approve} of {decline} staan voor het "
    "scannen (gesimuleerd).",
    "qr_alt": "QR-code van WeChat Pay",
    "error.number_incomplete": "Je kaartnummer is onvolledig.",
    "error.expiry_incomplete": "De vervaldatum van je kaart is onvolledig.",
    "error.cvc_incomplete": "De beveiligingscode van je kaart is onvolledig.",
    "error.number_invalid": "Je kaartnummer is ongeldig. Gebruik een van de testkaarten van Stripe.",
    "error.declined": "Je kaart is geweigerd. Probeer een andere kaart.",
}
_FR = {
    "title": "Paiement Topup",
    "note": "Mode test de Stripe simulé : aucun argent réel n'est débité.",
    "not_found_title": "Introuvable",
    "not_found": "Ce paiement n'existe pas.",
    "no_qr": "Ce code QR n'existe pas.",
    "card_number": "Numéro de carte",
    "expiry": "Date d'expiration",
    "expiry_hint": "MM / AA",
    "cvc": "CVC",
    "pay": "Payer {amount}",
    "cancel": "Annuler",
    "approve": "Approuver",
    "decline": "Refuser",
    "pay_with": "Payer avec {method}",
    "pay_with.card": "Payer par carte",
    "method.card": "Carte",
    "method.bancontact": "Bancontact",
    "method.alipay": "Alipay",
    "method.wechat_pay": "WeChat Pay",
    "state.waiting": "En attente de votre approbation",
    "state.processing": "En cours de traitement",
    "state.approved": "Paiement approuvé",
    "state.declined": "Paiement refusé",
    "state.unconfirmed": "Pas encore confirmé",
    "state.canceled": "Paiement annulé",
    "state.refunded": "Remboursé : {amount}",
    "state.complete": "Paiement effectué",
    "state.expired": "Cette page de paiement a expiré",
    "step.card": "3-D Secure : confirmez ce paiement auprès de votre banque (simulé).",
    "step.bancontact": "Bancontact : approuvez le paiement dans l'application de votre banque (simulé).",
    "step.alipay": "Alipay : connectez-vous et payez (simulé).",
    "step.wechat_pay": "Scannez ce code QR dans WeChat pour payer. {approve} ou {decline} remplacent le scan "
    "(simulé).",
    "qr_alt": "Code QR WeChat Pay",
    "error.number_incomplete": "Votre numéro de carte est incomplet.",
    "error.expiry_incomplete": "La date d'expiration de votre carte est incomplète.",
    "error.cvc_incomplete": "Le code de sécurité de votre carte est incomplet.",
    "error.number_invalid": "Votre numéro de carte n'est pas valide. Utilisez une des cartes de test de "
    "Stripe.",
    "error.declined": "Votre carte a été refusée. Essayez une autre carte.",
}
_DE = {
    "title": "Topup-Bezahlseite",
    "note": "Simulierter Stripe-Testmodus: Es fließt kein echtes Geld.",
    "not_found_title": "Nicht gefunden",
    "not_found": "Diese Zahlung existiert nicht.",
    "no_qr": "Diesen QR-Code gibt es nicht.",
    "card_number": "Kartennummer",
    "expiry": "Ablaufdatum",
    "expiry_hint": "MM / JJ",
    "cvc": "Prüfnummer",
    "pay": "{amount} zahlen",
    "cancel": "Abbrechen",
    "approve": "Bestätigen",
    "decline": "Ablehnen",
    "pay_with": "Bezahlen mit {method}",
    "pay_with.card": "Mit Karte bezahlen",
    "method.card": "Karte",
    "method.bancontact": "Bancontact",
    "method.alipay": "Alipay",
    "method.wechat_pay": "WeChat Pay",
    "state.waiting": "Wartet auf Ihre Bestätigung",
    "state.processing": "Wird verarbeitet",
    "state.approved": "Zahlung bestätigt",
    "state.declined": "Zahlung abgelehnt",
    "state.unconfirmed": "Noch nicht bestätigt",
    "state.canceled": "Zahlung storniert",
    "state.refunded": "{amount} erstattet",
    "state.complete": "Zahlung abgeschlossen",
    "state.expired": "Diese Bezahlseite ist abgelaufen",
    "step.card": "3-D Secure: Bestätigen Sie diese Zahlung bei Ihrer Bank (simuliert).",
    "step.bancontact": "Bancontact: Bestätigen Sie die Zahlung in der App Ihrer Bank (simuliert).",
    "step.alipay": "Alipay: Melden Sie sich an und bezahlen Sie (simuliert).",
    "step.wechat_pay": "Scannen Sie diesen QR-Code in WeChat, um zu bezahlen. {approve} oder {decline} "
    "stehen für den Scan (simuliert).",
    "qr_alt": "WeChat-Pay-QR-Code",
    "error.number_incomplete": "Ihre Kartennummer ist unvollständig.",
    "error.expiry_incomplete": "Das Ablaufdatum Ihrer Karte ist unvollständig.",
    "error.cvc_incomplete": "Die Prüfnummer Ihrer Karte ist unvollständig.",
    "error.number_invalid": "Ihre Kartennummer ist ungültig. Verwenden Sie eine der Testkarten von Stripe.",
    "error.declined": "Ihre Karte wurde abgelehnt. Versuchen Sie es mit einer anderen Karte.",
}
_ZH = {
    "title": "Topup 收银台",
    "note": "模拟的 Stripe 测试模式：不会扣除真实款项。",
    "not_found_title": "未找到",
    "not_found": "此笔付款不存在。",
    "no_qr": "此二维码不存在。",
    "card_number": "卡号",
    "expiry": "有效期",
    "expiry_hint": "月 / 年",
    "cvc": "安全码",
    "pay": "支付 {amount}",
    "cancel": "取消",
    "approve": "确认付款",
    "decline": "拒绝",
    "pay_with": "使用{method}付款",
    "pay_with.card": "使用银行卡付款",
    "method.card": "银行卡",
    "method.bancontact": "Bancontact",
    "method.alipay": "支付宝",
    "method.wechat_pay": "微信支付",
    "state.waiting": "等待您确认",
    "state.processing": "处理中",
    "state.approved": "付款成功",
    "state.declined": "付款被拒绝",
    "state.unconfirmed": "尚未确认",
    "state.canceled": "付款已取消",
    "state.refunded": "已退款 {amount}",
    "state.complete": "付款完成",
    "state.expired": "此付款页面已过期",
    "step.card": "3-D Secure：请向您的银行确认这笔付款（模拟）。",
    "step.bancontact": "Bancontact：请在您的银行应用中确认付款（模拟）。",
    "step.alipay": "支付宝：登录并付款（模拟）。",
    "step.wechat_pay": "请用微信扫描此二维码付款。“{approve}”或“{decline}”代替扫码（模拟）。",
    "qr_alt": "微信支付二维码",
    "error.number_incomplete": "您的卡号不完整。",
    "error.expiry_incomplete": "您的卡片有效期不完整。",
    "error.cvc_incomplete": "您的卡片安全码不完整。",
    "error.number_invalid": "卡号无效。请使用 Stripe 的测试卡。",
    "error.declined": "您的卡被拒绝。请换一张卡。",
}
STRINGS = {"en": _EN, "nl": _NL, "fr": _FR, "de": _DE, "zh": _ZH}

# The English refusals the book and the card form store on a session (what its JSON `error` says), as keys.
ERROR_KEYS = {_EN[key]: key for key in _EN if key.startswith("error.")}

# Per language: decimal mark, thousands separator, the symbol's place (before, before and a space, after).
_NUMBERS = {
    "en": (".", ",", "before"),
    "nl": (",", ".", "before_space"),
    "fr": (",", "\u202f", "after"),
    "de": (",", ".", "after"),
    "zh": (".", ",", "before"),
}
SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "cny": "¥", "hkd": "HK$"}


def known(key: str) -> bool:
    return key in _EN


def text(language: str, key: str, **values: str) -> str:
    """The string `key` in `language` (English when the table lacks it), with `values` filled in."""
    template = STRINGS.get(language, _EN).get(key) or _EN[key]
    return template.format(**values) if values else template


def money(amount_minor: int, currency: str, language: str) -> str:
    """An amount as `language` writes it: €1,234.50 (en, zh), € 1.234,50 (nl), 1 234,50 € (fr, de)."""
    decimal, thousands, place = _NUMBERS.get(language, _NUMBERS[DEFAULT])
    sign = "-" if amount_minor < 0 else ""
    units, cents = divmod(abs(amount_minor), 100)
    number = f"{sign}{units:,}".replace(",", thousands) + f"{decimal}{cents:02d}"
    symbol = SYMBOLS.get(currency.lower())
    if symbol is None:
        return f"{number}\u00a0{currency.upper()}"
    if place == "after":
        return f"{number}\u00a0{symbol}"
    return f"{symbol}\u00a0{number}" if place == "before_space" else f"{symbol}{number}"


def page_language(tag: str | None) -> str | None:
    """The simulator's page language for a Stripe locale or a browser's language tag (None: none of ours)."""
    if not tag:
        return None
    base = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in PAGE_LANGUAGES else None


def accepted(header: str | None) -> str | None:
    """The first of our languages the browser accepts (`Accept-Language`, by quality, then by order)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = page_language(tag)
        if language and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None


def choose(locale: str | None, accept_language: str | None) -> str:
    """The page's language: the object's locale (unless `auto`), else the browser's, else English."""
    return page_language(locale if locale != "auto" else None) or accepted(accept_language) or DEFAULT


def session_locale(value: object) -> str | None:
    """Check a Checkout Session's `locale` parameter as Stripe does; None when it is not given."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in STRIPE_LOCALES:
        choices = ", ".join(STRIPE_LOCALES[:-1]) + f", or {STRIPE_LOCALES[-1]}"
        raise invalid(None, f"Invalid locale: must be one of {choices}", "locale")
    return value
