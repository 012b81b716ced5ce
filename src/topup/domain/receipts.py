"""What a receipt says, whoever prints or sends it: a POS terminal, a kiosk, the agent console, or the e-mail
receipt of an order paid online.

A sale, a void or a refund is turned into one `ReceiptData` by the service that made it; the renderers
(`services/receipts`) draw the same data as plain text, ESC/POS bytes and PDF in the customer's language.
Nothing here knows about printers or languages: it is the data, with the money already split into net and VAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from topup.domain.fx import FxQuote
from topup.domain.money import Money
from topup.domain.promotions import AppliedPromotion


class ReceiptKind(StrEnum):
    SALE = "sale"  # a direct top-up or a PIN sold
    VOID = "void"  # the sale cancelled within its window: the customer gets the money back
    REFUND = "refund"  # paid, then not delivered: the "return receipt" the shop hands back with the money


class Tender(StrEnum):
    CASH = "cash"
    CARD = "card"  # card-present at the shop's terminal
    ONLINE = "online"  # paid on the website or in an app (card, Bancontact, Alipay, WeChat Pay, ...)


class ChangeAs(StrEnum):
    CASH = "cash"
    CREDIT = "credit"  # added to the line topped up (kiosks that give no coins back)
    VOUCHER = "voucher"  # a voucher PIN for the change


@dataclass(frozen=True, slots=True)
class Seller:
    """The shop on the receipt: who sold it (the retailer), where, and its VAT number."""

    name: str
    address_lines: tuple[str, ...]
    vat_number: str  # e.g. "BE0123456789"
    terminal_id: str  # our terminal id (trm_…) or the agent's counter


@dataclass(frozen=True, slots=True)
class PinCode:
    """A voucher sold on paper: the PIN to redeem, its serial (for support and voids), until when."""

    pin: str
    serial: str
    expires_on: date


@dataclass(frozen=True, slots=True)
class Payment:
    tender: Tender
    given: Money | None = None  # cash handed over (None for a card, or cash without change counted)
    change: Money | None = None
    change_as: ChangeAs | None = None
    change_pin: PinCode | None = None  # when the change was given as a voucher
    method_name: str = ""  # an online payment's method, as the customer reads it ("Bancontact", "支付宝")


@dataclass(frozen=True, slots=True)
class ReceiptData:
    kind: ReceiptKind
    language: str  # the customer's: en, nl, fr, de, zh-hans
    seller: Seller
    sale_id: str  # our id of the sale (what support asks for)
    terminal_ref: str  # the terminal's own reference for it
    at: datetime  # aware; printed in Brussels time
    network_name: str  # "Proximus", as the customer knows it
    plan_name: str  # the plan's name in the customer's language
    total: Money  # what the customer paid (VAT included)
    net: Money
    vat: Money
    vat_rate_bp: int  # 2100 = 21 %
    payment: Payment
    msisdn_masked: str | None = None  # a direct top-up: the number, masked (+32 470 ** ** 56)
    order_id: str | None = None
    pin: PinCode | None = None  # a PIN sale
    reason: str = ""  # a void's or refund's reason, as staff typed it
    # The promotions the sale's frozen quote applied, in order: `total` is the price after their savings.
    promotions: tuple[AppliedPromotion, ...] = ()

    @property
    def price(self) -> Money:
        """The price before the promotions' savings (the total when none saved anything)."""
        saved = sum(p.saving.amount_minor for p in self.promotions)
        return Money(self.total.amount_minor + saved, self.total.currency)

    fx: FxQuote | None = None  # the yuan amount an Alipay or WeChat Pay payer was shown
    esim_only: bool = False  # a line known by its ICCID alone (no number): followed on My eSIMs, not My line

    def __post_init__(self) -> None:
        if self.net + self.vat != self.total:
            raise ValueError("a receipt's net and VAT must add up to its total")
        if any(p.saving.currency != self.total.currency for p in self.promotions):
            raise ValueError("a receipt's promotions are in its currency")
        if (self.pin is None) == (self.msisdn_masked is None) and self.kind is ReceiptKind.SALE:
            raise ValueError("a sale's receipt is either a direct top-up (a number) or a PIN sale (a PIN)")
