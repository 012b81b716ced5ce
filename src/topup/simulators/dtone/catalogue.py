"""What the simulated DT One account sells in Belgium: operators and products, as DVS describes them.

Product ids are stable (operator id * 100 + slot) so that a platform's seed can name them:

    slot 1..6    FIXED_VALUE_RECHARGE  airtime €5, €10, €15, €20, €25, €50 (subservice Airtime, CREDITS)
    slot 10      RANGED_VALUE_RECHARGE airtime €1..€150 in steps of €0.01
    slot 21..24  FIXED_VALUE_RECHARGE  data bundles (subservice Data, a DATA benefit and a validity):
                 1 GB 1 day, 5 GB 7 days, 20 GB 30 days, unlimited 30 days

A bundle is a recharge whose benefit is data, as in DVS (PIN purchases are vouchers, not line bundles).
Wholesale prices are the destination amount less the account's discount: that is what the float pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

OPERATORS: Final = {  # our network id -> (DVS operator id, operator name)
    "proximus": (2101, "Proximus Belgium"),
    "orange": (2102, "Orange Belgium"),
    "base": (2103, "BASE Belgium"),
    "telenet": (2104, "Telenet Belgium"),
}
COUNTRY: Final = {"name": "Belgium", "iso_code": "BEL", "regions": None}
DISCOUNT_BP: Final = 400  # 4 % below face value: what the account pays DT One
CREDIT_EUROS: Final = (5, 10, 15, 20, 25, 50)
RANGED_SLOT: Final = 10
RANGE_MIN_CENTS, RANGE_MAX_CENTS = 100, 15_000
# slot, name, price in cents, data in MB (None: unlimited), validity in days
BUNDLES: Final = (
    (21, "1 GB 1 day", 299, 1_024, 1),
    (22, "5 GB 7 days", 999, 5_120, 7),
    (23, "20 GB 30 days", 1_999, 20_480, 30),
    (24, "Unlimited 30 days", 3_999, None, 30),
)


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    network: str
    type: str  # FIXED_VALUE_RECHARGE | RANGED_VALUE_RECHARGE
    name: str
    value_cents: int | None  # None: ranged
    data_mb: int | None = None  # a bundle's data; None with `unlimited` False: airtime
    unlimited: bool = False
    validity_days: int | None = None

    @property
    def is_bundle(self) -> bool:
        return self.data_mb is not None or self.unlimited


def wholesale_cents(value_cents: int) -> int:
    return value_cents - value_cents * DISCOUNT_BP // 10_000


def _build() -> dict[int, Product]:
    products: dict[int, Product] = {}
    for network, (operator_id, operator_name) in OPERATORS.items():
        brand = operator_name.removesuffix(" Belgium")
        for slot, euros in enumerate(CREDIT_EUROS, start=1):
            pid = operator_id * 100 + slot
            products[pid] = Product(pid, network, "FIXED_VALUE_RECHARGE", f"{brand} €{euros}", euros * 100)
        pid = operator_id * 100 + RANGED_SLOT
        products[pid] = Product(pid, network, "RANGED_VALUE_RECHARGE", f"{brand} airtime", None)
        for slot, name, cents, data_mb, days in BUNDLES:
            pid = operator_id * 100 + slot
            products[pid] = Product(
                pid, network, "FIXED_VALUE_RECHARGE", f"{brand} {name}", cents,
                data_mb=data_mb, unlimited=data_mb is None, validity_days=days,
            )  # fmt: skip
    return products


PRODUCTS: Final = _build()


def operator_json(network: str) -> dict[str, Any]:
    operator_id, name = OPERATORS[network]
    return {"id": operator_id, "name": name, "country": COUNTRY, "regions": None}


def _amount(cents: float | int) -> float:
    return round(cents / 100, 2)


def _benefits(product: Product, value_cents: int | None) -> list[dict[str, Any]]:
    amount: float | None
    if product.is_bundle:
        amount = -1 if product.unlimited else product.data_mb
        unit, unit_type, kind = "MB", "DATA", "DATA"
    else:
        amount = _amount(value_cents) if value_cents is not None else None
        unit, unit_type, kind = "EUR", "CURRENCY", "CREDITS"
    if amount is None:  # ranged: the benefit follows the requested value
        return [{"type": kind, "unit_type": unit_type, "unit": unit, "additional_information": None,
                 "amount": {"base": {"min": _amount(RANGE_MIN_CENTS), "max": _amount(RANGE_MAX_CENTS)},
                            "promotion_bonus": {"min": 0, "max": 0},
                            "total_excluding_tax": {"min": _amount(RANGE_MIN_CENTS),
                                                    "max": _amount(RANGE_MAX_CENTS)},
                            "total_including_tax": {"min": _amount(RANGE_MIN_CENTS),
                                                    "max": _amount(RANGE_MAX_CENTS)}}}]  # fmt: skip
    return [{"type": kind, "unit_type": unit_type, "unit": unit, "additional_information": None,
             "amount": {"base": amount, "promotion_bonus": 0, "total_excluding_tax": amount,
                        "total_including_tax": amount}}]  # fmt: skip


def _money(cents: int | None, *, ranged: bool = False) -> Any:
    if ranged:
        return {"min": _amount(RANGE_MIN_CENTS), "max": _amount(RANGE_MAX_CENTS)}
    return _amount(cents or 0)


def product_json(product: Product) -> dict[str, Any]:
    """A product as `GET /products` lists it (the fields the DVS schema requires)."""
    ranged = product.type == "RANGED_VALUE_RECHARGE"
    value = product.value_cents
    wholesale = None if value is None else wholesale_cents(value)
    subservice = {"id": 13, "name": "Data"} if product.is_bundle else {"id": 11, "name": "Airtime"}
    body: dict[str, Any] = {
        "id": product.id,
        "name": product.name,
        "description": product.name,
        "tags": None,
        "service": {"id": 1, "name": "Mobile", "subservice": subservice},
        "operator": operator_json(product.network),
        "regions": None,
        "type": product.type,
        "validity": {"unit": "DAY", "quantity": product.validity_days} if product.validity_days else None,
        "required_debit_party_identifier_fields": None,
        "required_credit_party_identifier_fields": [["mobile_number"]],
        "required_sender_fields": None,
        "required_beneficiary_fields": None,
        "required_statement_identifier_fields": None,
        "required_additional_identifier_fields": None,
        "availability_zones": ["INTERNATIONAL"],
        "source": {"unit_type": "CURRENCY", "unit": "EUR", "amount": _money(value, ranged=ranged)},
        "destination": {"unit_type": "CURRENCY", "unit": "EUR", "amount": _money(value, ranged=ranged)},
        "prices": {
            "wholesale": {
                "unit_type": "CURRENCY",
                "unit": "EUR",
                "fee": 0,
                "amount": _money(wholesale, ranged=ranged),
            },
            "retail": None,
        },
        "rates": {"base": 1.0, "wholesale": round(1 - DISCOUNT_BP / 10_000, 4), "retail": None},
        "benefits": _benefits(product, value),
        "promotions": None,
    }
    if ranged:
        body["destination"]["amount"]["increment"] = 0.01
        body["accepted_calculation_modes"] = ["DESTINATION_AMOUNT", "SOURCE_AMOUNT"]
    return body
