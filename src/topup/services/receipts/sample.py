"""Demo receipts (a PIN sale, a direct top-up, a void) to look at and print: `topup receipt sample`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from topup.domain.money import Money
from topup.domain.receipts import ChangeAs, Payment, PinCode, ReceiptData, ReceiptKind, Seller, Tender

SAMPLE_PIN = "12345678901234"
SAMPLE_SERIAL = "OR-20261204-000042"
PLAN_NAMES = {
    "en": "Orange Go Prepaid €20 credit",
    "nl": "Orange Go Prepaid €20 belwaarde",
    "fr": "Orange Go Prepaid 20 € de crédit",
    "de": "Orange Go Prepaid 20 € Guthaben",
    "zh-hans": "Orange Go 预付费 20 欧元话费",
}


def sample_receipt(
    language: str, kind: ReceiptKind = ReceiptKind.SALE, *, pin_sale: bool = True
) -> ReceiptData:
    """A receipt of the demo night shop: a €20 Orange PIN (or a direct top-up) paid with a €50 note."""
    total = Money(2000, "EUR")
    vat = Money(347, "EUR")  # 20.00 / 1.21 = 16.53 net, 3.47 VAT
    return ReceiptData(
        kind=kind,
        language=language,
        seller=Seller(
            name="Nachtwinkel De Zon",
            address_lines=("Rue Neuve 12", "1000 Bruxelles"),
            vat_number="BE0123456749",
            terminal_id="trm_01JEDEMO0000000000000000",
        ),
        sale_id="sal_01JEDEMO0000000000000042",
        terminal_ref="T1-000042",
        at=datetime(2026, 12, 4, 17, 45, tzinfo=UTC),
        network_name="Orange",
        plan_name=PLAN_NAMES.get(language, PLAN_NAMES["en"]),
        total=total,
        net=total - vat,
        vat=vat,
        vat_rate_bp=2100,
        payment=Payment(
            Tender.CASH, given=Money(5000, "EUR"), change=Money(3000, "EUR"), change_as=ChangeAs.CASH
        ),
        msisdn_masked=None if pin_sale else "+32 470 ** ** 56",
        order_id=None if pin_sale else "ord_01JEDEMO0000000000000042",
        pin=PinCode(SAMPLE_PIN, SAMPLE_SERIAL, date(2027, 12, 4)) if pin_sale else None,
        reason="" if kind is ReceiptKind.SALE else "Customer changed their mind",
    )
