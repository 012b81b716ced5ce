"""The carriers' own product catalogues: what each simulated network's gateway can activate on a line.

A carrier names its products its own way (`PX-DATA-5GB-7D`), not after our plans: the platform maps its
plans to these ids (the `carrier_product` table), and `GET /v1/networks/{network}/products` lists them.
A credit product adds its value to the line's balance; a bundle product adds a bundle (data in MB, or
unlimited under a fair-use cap) valid for its days, and leaves the balance alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from topup.simulators.carriers.numbering import NETWORKS


@dataclass(frozen=True, slots=True)
class Product:
    product_ref: str
    network: str
    kind: str  # credit | bundle
    name: str
    price_minor: int  # retail price incl. VAT, EUR; a credit product's value
    data_mb: int | None = None  # None: no data, or unlimited
    unlimited: bool = False
    fair_use_mb: int | None = None
    validity_days: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "product_ref": self.product_ref,
            "kind": self.kind,
            "name": self.name,
            "price_minor": self.price_minor,
            "currency": "EUR",
            "data_mb": self.data_mb,
            "unlimited": self.unlimited,
            "fair_use_mb": self.fair_use_mb,
            "validity_days": self.validity_days,
        }


_PREFIX: Final = {"proximus": "PX", "orange": "OR", "base": "BA", "telenet": "TN"}
_BRAND: Final = {"proximus": "Pay&Go", "orange": "Orange", "base": "BASE", "telenet": "Telenet"}
# (product id suffix, name, price in cents, data_mb, unlimited, fair_use_mb, validity_days)
_BUNDLES: Final = (
    ("DATA-1GB-1D", "Data 1 GB 1 day", 299, 1_024, False, None, 1),
    ("DATA-5GB-7D", "Data 5 GB 7 days", 999, 5_120, False, None, 7),
    ("DATA-20GB-30D", "Data 20 GB 30 days", 1_999, 20_480, False, None, 30),
    ("DATA-UNL-30D", "Unlimited data 30 days", 3_999, None, True, 102_400, 30),
    ("DATA-50GB-30D", "Data 50 GB 30 days", 2_999, 51_200, False, None, 30),  # not sold by the platform
)
_CREDIT_EUROS: Final = (5, 10, 15, 20, 25, 50)


def _catalogue(network: str) -> dict[str, Product]:
    prefix, brand = _PREFIX[network], _BRAND[network]
    products = [
        Product(f"{prefix}-CREDIT-{euros}", network, "credit", f"{brand} €{euros}", euros * 100)
        for euros in _CREDIT_EUROS
    ]
    products += [
        Product(f"{prefix}-{suffix}", network, "bundle", f"{brand} {name}", cents, mb, unlimited, cap, days)
        for suffix, name, cents, mb, unlimited, cap, days in _BUNDLES
    ]
    return {product.product_ref: product for product in products}


CATALOGUES: Final[dict[str, dict[str, Product]]] = {network: _catalogue(network) for network in NETWORKS}


def find_product(network: str, product_ref: str) -> Product | None:
    return CATALOGUES[network].get(product_ref)
