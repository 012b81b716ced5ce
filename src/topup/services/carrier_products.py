"""Which carrier product a plan is on each carrier route, so that a bundle is activated, never credited.

An external network's bundle plan is sold only when the route its network is sent through
(`peers.current().carrier_route`) has a product for it (`carrier_product` table): otherwise the quote is
refused with `plan_not_deliverable` rather than delivered as its price in credit. The product found is
frozen into the quote; the delivery reads it from there.
"""

from __future__ import annotations

import dataclasses
import logging

from topup.db.models import CarrierProductRecord
from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.errors import Conflict
from topup.domain.quotes import Quote
from topup.services import catalogue, peers

log = logging.getLogger(__name__)


def product_ref(route: str, plan_id: str) -> str | None:
    found = CarrierProductRecord.objects.filter(route=route, plan_id=plan_id)
    return found.values_list("product_ref", flat=True).first()


def not_deliverable(plan_id: str, route: str) -> Conflict:
    return Conflict(
        f"plan {plan_id} has no product on the carrier route {route!r}: it cannot be delivered",
        code="plan_not_deliverable",
        field="plan_id",
    )


def needs_product(plan: Plan, network: Network) -> bool:
    return plan.kind is PlanKind.BUNDLE and network.kind is NetworkKind.EXTERNAL


def freeze(quote: Quote, plan: Plan, network: Network) -> Quote:
    """The quote with the route's product of an external bundle plan; refused when the route has none."""
    if not needs_product(plan, network):
        return quote
    route = peers.current().carrier_route(network.id)
    found = product_ref(route, plan.id)
    if found is None:
        raise not_deliverable(plan.id, route)
    return dataclasses.replace(quote, carrier_route=route, carrier_product=found)


def for_delivery(quote: Quote, route: str) -> str | None:
    """The product an order's bundle is activated as on `route` (the network's route now); None for credit.

    The frozen product, unless the network was moved to another route since the order was placed (then
    that route's product for the plan). An order placed before products were frozen reads its plan's kind.
    Raises `plan_not_deliverable` for a bundle that `route` has no product for.
    """
    if quote.carrier_product is not None and quote.carrier_route == route:
        return quote.carrier_product
    if quote.carrier_product is None and catalogue.plan_kind(quote.plan_id) != PlanKind.BUNDLE.value:
        return None
    found = product_ref(route, quote.plan_id)
    if found is None:
        raise not_deliverable(quote.plan_id, route)
    log.info("bundle product looked up at delivery", extra={"plan_id": quote.plan_id, "route": route})
    return found


def for_plan(plan: Plan, network: Network) -> str | None:
    """The product to buy `plan` from a line's credit as, on its network's route now (None: none)."""
    return product_ref(peers.current().carrier_route(network.id), plan.id)


def plans_by_product(route: str) -> dict[str, tuple[str, str]]:
    """product id -> (plan id, plan name) on `route`: a carrier bundle is shown as the plan we sold it as."""
    rows = CarrierProductRecord.objects.filter(route=route).values_list(
        "product_ref", "plan_id", "plan__name"
    )
    return {product: (plan_id, name) for product, plan_id, name in rows}
