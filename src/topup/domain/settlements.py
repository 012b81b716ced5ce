"""A retailer's statement for a period: what its float did, and whether the books agree with the rows.

The opening and closing float come from the ledger; sales, voids, refunds, commission and float top-ups
from the shop's own rows. `expected_closing` recomputes the closing float from the opening and the rows;
`difference` (ledger minus rows) is zero when everything that moved the float is on the statement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reversals:
    """Sales given back in the period (voided or refunded): how many, their price and their commission."""

    count: int = 0
    price_minor: int = 0
    commission_minor: int = 0


@dataclass(frozen=True, slots=True)
class Statement:
    retailer_id: str
    retailer_name: str
    currency: str
    opening_minor: int
    sales_count: int
    sales_minor: int
    commission_minor: int  # on the period's sales, before reversals
    voids: Reversals
    refunds: Reversals
    topups_count: int
    topups_minor: int
    closing_minor: int

    @property
    def net_commission_minor(self) -> int:
        return self.commission_minor - self.voids.commission_minor - self.refunds.commission_minor

    @property
    def expected_closing_minor(self) -> int:
        """Opening + top-ups - sales + commission, with voided and refunded sales put back (net of theirs)."""
        given_back = self.voids.price_minor + self.refunds.price_minor
        return (
            self.opening_minor + self.topups_minor - self.sales_minor + given_back + self.net_commission_minor
        )

    @property
    def difference_minor(self) -> int:
        return self.closing_minor - self.expected_closing_minor
