"""What a receipt says, in the customer's language: the blocks every renderer draws (text, ESC/POS, PDF).

All wording is chosen here, once, under `translation.override(data.language)`; amounts and dates are formatted
by Babel for the customer's locale, times in Brussels. The redeem instructions name the real ways in: the SMS
command the SMS channel parses (`domain.commands`), the USSD direct code (`channels.ussd`) and the web page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_percent
from django.utils.translation import gettext as _
from django.utils.translation import override, pgettext

from topup.clock import BRUSSELS
from topup.domain.money import Money
from topup.domain.receipts import ChangeAs, PinCode, ReceiptData, ReceiptKind, Tender
from topup.services import fx_text, locale_text, promotion_text
from topup.services.receipts.layout import Block, Kind
from topup.settings import CONFIG

BABEL_LOCALES: Final = locale_text.BABEL_LOCALES
# The SMS keyword in the customer's language: the SMS channel answers in the language of the keyword.
SMS_KEYWORDS: Final = {"en": "TOPUP", "nl": "OPLADEN", "fr": "RECHARGE", "de": "AUFLADEN", "zh-hans": "充值"}
USSD_REDEEM: Final = "*121*{pin}#"  # channels.ussd.DIRECT_REDEEM: the voucher redeemed in one step
REDEEM_PATH: Final = "/voucher"  # channels.web: the page where a voucher PIN is redeemed
MY_LINE_PATH: Final = "/my"  # channels.web: the customer's line, balance and top-ups (sign-in by SMS code)
MY_ESIMS_PATH: Final = "/my/esims"  # channels.web: an e-mail's eSIMs, their data, add data (code by e-mail)
INDENT: Final = "   "
_SPACES: Final = str.maketrans({"\u00a0": " ", "\u202f": " "})  # Babel's no-break spaces: printers lack them


def group_pin(pin: str) -> str:
    """`12345678901234` as `1234 5678 9012 34`: four digits at a time, as on a scratch card."""
    return " ".join(pin[i : i + 4] for i in range(0, len(pin), 4))


def redeem_url() -> str:
    return f"{CONFIG.public_url}{REDEEM_PATH}"


def sms_command(pin: str, language: str) -> str:
    return f"{SMS_KEYWORDS.get(language, SMS_KEYWORDS['en'])} {pin}"


def ussd_code(pin: str) -> str:
    return USSD_REDEEM.format(pin=pin)


class _Words:
    """Money, percentages and dates in one Babel locale, with plain spaces a printer's code page has."""

    def __init__(self, language: str) -> None:
        self.locale = BABEL_LOCALES.get(language, "en_BE")

    def money(self, amount: Money) -> str:
        return format_currency(amount.as_decimal(), amount.currency, locale=self.locale).translate(_SPACES)

    def rate(self, rate_bp: int) -> str:
        return format_percent(Decimal(rate_bp) / 10_000, locale=self.locale).translate(_SPACES)

    def when(self, data: ReceiptData) -> str:
        at = data.at.astimezone(BRUSSELS)
        return format_datetime(at, "short", tzinfo=BRUSSELS, locale=self.locale).translate(_SPACES)

    def day(self, data: PinCode) -> str:
        return format_date(data.expires_on, "medium", locale=self.locale).translate(_SPACES)


def blocks(data: ReceiptData) -> list[Block]:
    """The whole receipt, top to bottom, in `data.language`."""
    with override(data.language):
        words = _Words(data.language)
        parts = _header(data)
        parts += _sale(data, words)
        parts += _amounts(data, words)
        parts += _payment(data, words)
        if data.pin is not None:
            parts += _pin(data, data.pin, words)
        parts += _footer(data)
        return parts


def _header(data: ReceiptData) -> list[Block]:
    seller = data.seller
    parts = [Block(Kind.TITLE, seller.name)]
    parts += [Block(Kind.CENTER, line) for line in seller.address_lines]
    parts.append(
        Block(Kind.CENTER, pgettext("receipt", "VAT number %(number)s") % {"number": seller.vat_number})
    )
    parts.append(Block(Kind.RULE))
    if data.kind is ReceiptKind.VOID:
        parts += [Block(Kind.TITLE, pgettext("receipt", "VOID")), Block(Kind.RULE)]
    elif data.kind is ReceiptKind.REFUND:
        parts += [Block(Kind.TITLE, pgettext("receipt", "REFUND")), Block(Kind.RULE)]
    return parts


def _sale(data: ReceiptData, words: _Words) -> list[Block]:
    if data.payment.tender is Tender.ONLINE:  # no terminal: the order number is what support asks for
        parts = [Block(Kind.PAIR, pgettext("receipt", "Date"), words.when(data))]
    else:
        parts = [
            Block(Kind.PAIR, pgettext("receipt", "Terminal"), data.seller.terminal_id),
            Block(Kind.PAIR, pgettext("receipt", "Date"), words.when(data)),
            Block(Kind.PAIR, pgettext("receipt", "Sale"), data.sale_id),
            Block(Kind.PAIR, pgettext("receipt", "Terminal reference"), data.terminal_ref),
        ]
    if data.order_id:
        parts.append(Block(Kind.PAIR, pgettext("receipt", "Order"), data.order_id))
    parts += [
        Block(Kind.RULE),
        Block(Kind.PAIR, pgettext("receipt", "Network"), data.network_name.translate(_SPACES)),
        Block(Kind.PAIR, pgettext("receipt", "Plan"), data.plan_name.translate(_SPACES)),
    ]
    if data.msisdn_masked:
        parts.append(Block(Kind.PAIR, pgettext("receipt", "Number topped up"), data.msisdn_masked))
    return parts


def _promotions(data: ReceiptData, words: _Words) -> list[Block]:
    """The price before promotions, then each promotion (name, code) and what it saved or added."""
    if not data.promotions:
        return []
    parts = [Block(Kind.PAIR, pgettext("receipt", "Price"), words.money(data.price))]
    for line in promotion_text.lines(data.promotions, data.language, words.money):
        name = f"{line.name} ({line.code})" if line.code else line.name
        parts.append(Block(Kind.PAIR, name, line.effect))
    return parts


def _amounts(data: ReceiptData, words: _Words) -> list[Block]:
    parts = [
        Block(Kind.RULE),
        *_promotions(data, words),
        Block(Kind.PAIR, pgettext("receipt", "Net (excl. VAT)"), words.money(data.net)),
        Block(Kind.PAIR, _("VAT %(rate)s") % {"rate": words.rate(data.vat_rate_bp)}, words.money(data.vat)),
        Block(Kind.PAIR, pgettext("receipt", "Total"), words.money(data.total), bold=True),
    ]
    if data.fx is not None:  # what an Alipay or WeChat Pay payer was shown (or charged) in yuan
        shown = fx_text.both_currencies(data.total, data.fx, words.locale).translate(_SPACES)
        parts += [
            Block(Kind.PAIR, pgettext("receipt", "In yuan"), words.money(data.fx.amount)),
            Block(Kind.TEXT, shown),
        ]
    if data.kind is not ReceiptKind.SALE:
        if data.reason:
            parts.append(Block(Kind.PAIR, pgettext("receipt", "Reason"), data.reason))
        handed_back = pgettext("receipt", "Handed back to you")
        parts.append(Block(Kind.PAIR, handed_back, words.money(data.total), bold=True))
    return parts


def _payment(data: ReceiptData, words: _Words) -> list[Block]:
    payment = data.payment
    if payment.tender is Tender.ONLINE:
        tender = payment.method_name or pgettext("receipt", "Online")
    else:
        tender = pgettext("receipt", "Cash") if payment.tender is Tender.CASH else pgettext("receipt", "Card")
    label = (
        pgettext("receipt", "Paid by")
        if data.kind is ReceiptKind.SALE
        else pgettext("receipt", "Paid back by")
    )
    parts = [Block(Kind.PAIR, label, tender)]
    if data.kind is not ReceiptKind.SALE:
        return parts  # what was handed over at the sale is on the sale's receipt
    if payment.given is not None:
        parts.append(Block(Kind.PAIR, pgettext("receipt", "Cash given"), words.money(payment.given)))
    if payment.change is not None:
        parts.append(Block(Kind.PAIR, pgettext("receipt", "Change"), words.money(payment.change)))
        parts += _change(data, words)
    return parts


def _change(data: ReceiptData, words: _Words) -> list[Block]:
    """Change not given in coins: added as credit to the line, or a voucher PIN (with how to use it)."""
    payment = data.payment
    if payment.change_as is ChangeAs.CREDIT:
        return [
            Block(Kind.TEXT, pgettext("receipt", "Your change was added as credit to the number topped up."))
        ]
    if payment.change_as is not ChangeAs.VOUCHER or payment.change_pin is None:
        return []
    parts = [Block(Kind.TEXT, pgettext("receipt", "Your change is a voucher: top up with this PIN."))]
    parts += _pin_lines(payment.change_pin, words)
    if data.pin is None:  # on a PIN sale the sold PIN's instructions say it already
        parts += _redeem_ways(payment.change_pin, data.language)
    return parts


def pin_shown(pin: PinCode) -> bool:
    """A reprint after the PIN was erased carries a mask (`••••`) instead of the digits."""
    return pin.pin.isdigit()


def _pin_lines(pin: PinCode, words: _Words) -> list[Block]:
    if pin_shown(pin):
        shown = Block(Kind.PIN, group_pin(pin.pin))
    else:
        shown = Block(
            Kind.TEXT, pgettext("receipt", "The PIN is printed on the first receipt only."), bold=True
        )
    return [
        shown,
        Block(Kind.PAIR, pgettext("receipt", "Serial"), pin.serial),
        Block(Kind.PAIR, pgettext("receipt", "Valid until"), words.day(pin)),
    ]


def _pin(data: ReceiptData, pin: PinCode, words: _Words) -> list[Block]:
    """The PIN sold and how to redeem it; on a void or refund only its serial, with the news it is dead."""
    parts = [Block(Kind.RULE)]
    if data.kind is not ReceiptKind.SALE:
        parts.append(Block(Kind.PAIR, pgettext("receipt", "Serial"), pin.serial))
        parts.append(
            Block(Kind.TEXT, pgettext("receipt", "The PIN of this voucher no longer works."), bold=True)
        )
        return parts
    parts.append(Block(Kind.CENTER, pgettext("receipt", "Your top-up PIN"), bold=True))
    parts += _pin_lines(pin, words)
    return parts + _redeem_ways(pin, data.language)


def _redeem_ways(pin: PinCode, language: str) -> list[Block]:
    """The three ways to redeem `pin`, each in its channel's real syntax, and a QR code of the web page."""
    digits = pin.pin if pin_shown(pin) else "PIN"  # a reprint shows the syntax around the PIN
    return [
        Block(Kind.TEXT, pgettext("receipt", "How to top up with this PIN:"), bold=True),
        Block(
            Kind.TEXT,
            pgettext("receipt", "1. By SMS to %(short_code)s:") % {"short_code": CONFIG.sms_short_code},
        ),
        Block(Kind.TEXT, INDENT + sms_command(digits, language)),
        Block(Kind.TEXT, pgettext("receipt", "2. By phone, dial:")),
        Block(Kind.TEXT, INDENT + ussd_code(digits)),
        Block(Kind.TEXT, pgettext("receipt", "3. Online:")),
        Block(Kind.TEXT, INDENT + redeem_url()),
        Block(Kind.QR, redeem_url()),
    ]


def _footer(data: ReceiptData) -> list[Block]:
    """Where to follow a direct top-up (My line, or My eSIMs for an eSIM without a number, with its QR
    code), keep the receipt, whom to call."""
    contact = CONFIG.support_phone or CONFIG.public_url
    parts = [Block(Kind.RULE)]
    if data.msisdn_masked and data.kind is ReceiptKind.SALE:
        if data.esim_only:  # no number to sign in to My line with: the eSIM is found by its e-mail
            page = CONFIG.public_url + MY_ESIMS_PATH
            follow = pgettext("receipt", "Your eSIMs and their data: %(url)s") % {"url": page}
        else:
            page = CONFIG.public_url + MY_LINE_PATH
            follow = pgettext("receipt", "Your balance and top-ups: %(url)s") % {"url": page}
        parts += [Block(Kind.CENTER, follow), Block(Kind.QR, page)]
    parts += [
        Block(Kind.CENTER, pgettext("receipt", "Please keep this receipt.")),
        Block(Kind.CENTER, pgettext("receipt", "Customer service: %(contact)s") % {"contact": contact}),
    ]
    return parts
