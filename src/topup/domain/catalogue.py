"""The catalogue: networks whose lines we top up and the plans (credit or bundles) sold for them.

`BELGIAN_DEMO_NETWORKS` and `BELGIAN_DEMO_PLANS` are the seed of the demo; prices are EUR incl. 21 % VAT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from topup.domain.errors import InvalidInput, NotFound
from topup.domain.money import Money


class NetworkKind(StrEnum):
    EXTERNAL = "external"
    HOSTED = "hosted"


class PlanKind(StrEnum):
    CREDIT = "credit"
    BUNDLE = "bundle"


def _invalid_plan(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_plan", field="plan")


@dataclass(frozen=True, slots=True)
class Network:
    id: str
    name: str
    kind: NetworkKind
    commission_bp: int = 0
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if not self.id or not 0 <= self.commission_bp <= 10_000:
            raise InvalidInput(f"invalid network {self.id!r}", code="invalid_network", field="network")


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    network_id: str
    kind: PlanKind
    name: str
    price: Money
    data_mb: int | None = None
    unlimited: bool = False
    validity_days: int | None = None
    fair_use_mb: int | None = None
    code: str = ""
    active: bool = True

    def __post_init__(self) -> None:
        if not self.id or not self.network_id:
            raise _invalid_plan("a plan needs an id and a network")
        if not self.price.is_positive():
            raise _invalid_plan(f"plan {self.id}: price must be positive")
        for name, value in (
            ("data_mb", self.data_mb),
            ("validity_days", self.validity_days),
            ("fair_use_mb", self.fair_use_mb),
        ):
            if value is not None and value <= 0:
                raise _invalid_plan(f"plan {self.id}: {name} must be positive")
        if self.kind == PlanKind.CREDIT:
            self._check_credit()
        else:
            self._check_bundle()

    def _check_credit(self) -> None:
        if self.data_mb is not None or self.unlimited or self.fair_use_mb is not None:
            raise _invalid_plan(f"plan {self.id}: a credit plan carries no data")

    def _check_bundle(self) -> None:
        if self.validity_days is None:
            raise _invalid_plan(f"plan {self.id}: a bundle needs validity_days")
        if self.unlimited:
            if self.data_mb is not None:
                raise _invalid_plan(f"plan {self.id}: an unlimited bundle has no data_mb")
            if self.fair_use_mb is None:
                raise _invalid_plan(f"plan {self.id}: an unlimited bundle needs fair_use_mb")
        else:
            if self.data_mb is None:
                raise _invalid_plan(f"plan {self.id}: a bundle needs data_mb or unlimited")
            if self.fair_use_mb is not None:
                raise _invalid_plan(f"plan {self.id}: fair_use_mb only applies to unlimited bundles")


def plans_by_id(plans: Iterable[Plan]) -> dict[str, Plan]:
    """Index plans by id, refusing duplicates."""
    index: dict[str, Plan] = {}
    for plan in plans:
        if plan.id in index:
            raise _invalid_plan(f"duplicate plan id {plan.id}")
        index[plan.id] = plan
    return index


def find_plan(index: Mapping[str, Plan], plan_id: str) -> Plan:
    """The plan with `plan_id`, or NotFound `plan_not_found`."""
    try:
        return index[plan_id]
    except KeyError:
        raise NotFound(f"no plan {plan_id!r}", code="plan_not_found", field="plan_id") from None


def plan_period(plan: Plan) -> str | None:
    """How long a bundle lasts, as customers filter plans: day, week, month or unlimited (None for credit)."""
    if plan.kind is not PlanKind.BUNDLE:
        return None
    if plan.unlimited:
        return "unlimited"
    days = plan.validity_days or 0
    if days <= 1:
        return "day"
    return "week" if days <= 7 else "month"


def buyable_from_credit(plan: Plan, network: Network) -> bool:
    """Only an external network's bundles are bought from the line's credit at the carrier: credit with
    credit would be a transfer, and a hosted line's credit is in our own books (paid by an order)."""
    return plan.kind is PlanKind.BUNDLE and plan.active and network.kind is NetworkKind.EXTERNAL


# --- Belgian demo catalogue -------------------------------------------------------------------------------

DEMO_COMMISSION_BP = 500

BELGIAN_DEMO_NETWORKS: tuple[Network, ...] = (
    Network("proximus", "Proximus", NetworkKind.EXTERNAL, DEMO_COMMISSION_BP),
    Network("orange", "Orange Belgium", NetworkKind.EXTERNAL, DEMO_COMMISSION_BP),
    Network("base", "BASE", NetworkKind.EXTERNAL, DEMO_COMMISSION_BP),
    Network("telenet", "Telenet", NetworkKind.EXTERNAL, DEMO_COMMISSION_BP),
)

DEMO_CREDIT_EUROS: tuple[int, ...] = (5, 10, 15, 20, 25, 50)

# (id suffix, name, price in cents, data_mb, unlimited, validity_days, fair_use_mb, code)
_DEMO_BUNDLES: tuple[tuple[str, str, int, int | None, bool, int, int | None, str], ...] = (
    ("data-1d-1gb", "1 day 1 GB", 299, 1_024, False, 1, None, "D1G1"),
    ("data-7d-5gb", "7 days 5 GB", 999, 5_120, False, 7, None, "D7G5"),
    ("data-30d-20gb", "30 days 20 GB", 1_999, 20_480, False, 30, None, "D30G20"),
    ("data-30d-unlimited", "30 days unlimited", 3_999, None, True, 30, 102_400, "D30U"),
)


def _demo_plans(network_id: str) -> list[Plan]:
    plans = [
        Plan(
            id=f"{network_id}-credit-{euros}",
            network_id=network_id,
            kind=PlanKind.CREDIT,
            name=f"€{euros} credit",
            price=Money(euros * 100, "EUR"),
            code=f"C{euros}",
        )
        for euros in DEMO_CREDIT_EUROS
    ]
    plans.extend(
        Plan(
            id=f"{network_id}-{suffix}",
            network_id=network_id,
            kind=PlanKind.BUNDLE,
            name=name,
            price=Money(cents, "EUR"),
            data_mb=data_mb,
            unlimited=unlimited,
            validity_days=days,
            fair_use_mb=fair_use_mb,
            code=code,
        )
        for suffix, name, cents, data_mb, unlimited, days, fair_use_mb, code in _DEMO_BUNDLES
    )
    return plans


BELGIAN_DEMO_PLANS: tuple[Plan, ...] = tuple(
    plan for network in BELGIAN_DEMO_NETWORKS for plan in _demo_plans(network.id)
)
