"""The hosted eSIM data network of the demo: its plans and how each plan's bundle starts and tops up.

The demo's starting point: `topup migrate` creates the plans that are missing; afterwards staff change
prices and rules in the back office (/admin/), where they are kept.
"""

from __future__ import annotations

from topup.domain.bundles import BundleStart, TopupRule
from topup.domain.bundles import BundleStart as Start
from topup.domain.bundles import TopupRule as Rule
from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.money import Money

ESIM_NETWORK = Network("topup-esim", "Topup eSIM", NetworkKind.HOSTED, commission_bp=0)
ESIM_PROFILE_TYPE = "BE-DATA"
ESIM_APN = "internet.topup.be"

# (id, name, price in cents, data MB, unlimited, validity days, fair use MB, code, start, top-up rule)
_PLANS: tuple[tuple[str, str, int, int | None, bool, int, int | None, str, BundleStart, TopupRule], ...] = (
    ("esim-1d-1gb", "1 day 1 GB", 299, 1_024, False, 1, None, "E1D", Start.ON_PURCHASE, Rule.STACK),
    ("esim-7d-5gb", "7 days 5 GB", 999, 5_120, False, 7, None, "E7D", Start.ON_FIRST_USE, Rule.STACK),
    ("esim-30d-20gb", "30 days 20 GB", 1_999, 20_480, False, 30, None, "E30D", Start.ON_FIRST_USE,
     Rule.EXTEND),
    ("esim-30d-unlimited", "30 days unlimited", 3_499, None, True, 30, 102_400, "E30U", Start.ON_PURCHASE,
     Rule.EXTEND),
)  # fmt: skip

ESIM_PLANS: tuple[Plan, ...] = tuple(
    Plan(
        id=plan_id, network_id=ESIM_NETWORK.id, kind=PlanKind.BUNDLE, name=name, price=Money(cents, "EUR"),
        data_mb=data_mb, unlimited=unlimited, validity_days=days, fair_use_mb=fair_use_mb, code=code,
    )
    for plan_id, name, cents, data_mb, unlimited, days, fair_use_mb, code, _, _ in _PLANS
)  # fmt: skip

BUNDLE_POLICY: dict[str, tuple[BundleStart, TopupRule]] = {row[0]: (row[8], row[9]) for row in _PLANS}
