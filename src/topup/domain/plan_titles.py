"""How a plan's title is composed from its facts, the same in every language and channel: a credit plan
is named by its amount ("€10 credit"), a bundle by its data and validity ("1 GB · 7 days", "unlimited · 30
days").

The domain decides which facts make the title and in what order; the words ("credit", "GB", "days") and the
money's figures are the service's (`services.plan_text`, gettext and Babel), in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from topup.domain.catalogue import Plan, PlanKind
from topup.domain.money import Money

PART_SEPARATOR: Final = " · "
MB_PER_GB: Final = 1024


@dataclass(frozen=True, slots=True)
class CreditTitle:
    """A credit plan: its amount of credit tells it apart from the other credit plans."""

    amount: Money


@dataclass(frozen=True, slots=True)
class DataSize:
    """An amount of data as a title shows it: whole gigabytes when it is some (`tenths` of a GB, else MB)."""

    value: int
    unit: str  # "GB" (value in tenths of a GB) or "MB"

    @property
    def whole(self) -> bool:
        return self.unit == "MB" or self.value % 10 == 0


@dataclass(frozen=True, slots=True)
class BundleTitle:
    """A bundle: its data (None for unlimited) then its validity."""

    data: DataSize | None
    validity_days: int

    @property
    def unlimited(self) -> bool:
        return self.data is None


def data_size(data_mb: int) -> DataSize:
    """1024 MB -> 1 GB, 1536 MB -> 1.5 GB, 500 MB -> 500 MB (below a gigabyte, megabytes)."""
    if data_mb < MB_PER_GB:
        return DataSize(data_mb, "MB")
    return DataSize(round(data_mb * 10 / MB_PER_GB), "GB")


def compose(plan: Plan) -> CreditTitle | BundleTitle:
    """The facts a plan's title is made of; a credit plan's amount is its price (sold at face value)."""
    if plan.kind is PlanKind.CREDIT:
        return CreditTitle(plan.price)
    data = None if plan.unlimited else data_size(plan.data_mb or 0)
    return BundleTitle(data, plan.validity_days or 0)
