"""`topup reconcile carriers`: an aggregator's sales of one day against the orders we delivered through it.

For every carrier route that can list its sales (`CarrierLedger`, DT One), the orders of the networks
routed to it and created that day (Brussels time, as payments) are compared with the route's
transactions, by our reference:

    delivered_not_completed    we delivered; the aggregator has no completed sale (missing, failed, reversed)
    completed_not_delivered    the aggregator completed a sale that we refunded, failed or never delivered
    completed_unknown_order    the aggregator completed a sale whose reference is no order of ours
    amount_mismatch            the value delivered is not the order's face value (airtime)
    product_mismatch           the product sold is not the plan's product on this route (CarrierProductRecord)

A sale may be created just after midnight for an order of the day before, so the next day's sales are
read too (DVS lists at most 24 hours at a time) and matched by reference only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from topup.clock import BRUSSELS, now
from topup.db.models import CarrierProductRecord, Order
from topup.domain.catalogue import PlanKind
from topup.domain.orders import OrderStatus
from topup.domain.quotes import Quote
from topup.ports import CarrierLedger, CarrierTransaction
from topup.services import peers

_SETTLED = (OrderStatus.DELIVERED, OrderStatus.REFUNDED, OrderStatus.DELIVERY_FAILED)


@dataclass(frozen=True)
class Mismatch:
    route: str
    order_id: str  # our reference (an order id, or what the aggregator holds as one)
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.order_id}  {self.kind}  {self.route}: {self.detail}"  # as reconcile.Mismatch.line


MAX_WINDOW = timedelta(hours=24)  # the longest span DVS lists at once


def _window(day: date) -> tuple[datetime, datetime]:
    """The business day in Brussels (as `reconcile payments`), in UTC for the aggregator's filters."""
    start = datetime.combine(day, time(0), tzinfo=BRUSSELS)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BRUSSELS)  # 23 or 25 hours at DST
    return start.astimezone(UTC), end.astimezone(UTC)


def _sales(ledger: CarrierLedger, day: date) -> tuple[list[CarrierTransaction], list[CarrierTransaction]]:
    """(the day's sales, the next day's sales so far)."""
    start, end = _window(day)
    todays = _listed(ledger, start, end)
    later = _listed(ledger, end, min(end + timedelta(days=1), now())) if end < now() else []
    return todays, later


def _listed(ledger: CarrierLedger, start: datetime, end: datetime) -> list[CarrierTransaction]:
    """Every transaction in [start, end], asked at most 24 hours at a time (DVS's limit): the day the clocks
    go back in Brussels has 25."""
    found: dict[str, CarrierTransaction] = {}  # by the aggregator's id: a sale on a boundary is listed twice
    while start < end:
        until = min(start + MAX_WINDOW, end)
        found.update((t.carrier_ref, t) for t in ledger.transactions(start.isoformat(), until.isoformat()))
        start = until
    return list(found.values())


def _product_refs(route: str) -> dict[str, str]:
    return dict(CarrierProductRecord.objects.filter(route=route).values_list("plan_id", "product_ref"))


def _compare(
    route: str, order: Order, sale: CarrierTransaction | None, products: dict[str, str]
) -> Mismatch | None:
    if order.status != OrderStatus.DELIVERED:
        if sale is not None and sale.state == "completed":
            return Mismatch(route, order.id, "completed_not_delivered", f"order is {order.status}")
        return None
    if sale is None or sale.state != "completed":
        state = "no sale" if sale is None else f"sale {sale.carrier_ref} is {sale.state}"
        return Mismatch(route, order.id, "delivered_not_completed", state)
    if order.plan_id in products and sale.product_ref != products[order.plan_id]:
        detail = f"sold product {sale.product_ref}, plan is {products[order.plan_id]}"
        return Mismatch(route, order.id, "product_mismatch", detail)
    if order.plan.kind == PlanKind.BUNDLE.value:
        return None  # a bundle's value is its product; its price is DT One's, not a face value
    face_value = Quote.from_dict(order.quote).face_value
    if sale.amount != face_value:
        return Mismatch(route, order.id, "amount_mismatch", f"delivered {sale.amount}, ordered {face_value}")
    return None


def reconcile_route(route: str, ledger: CarrierLedger, day: date) -> list[Mismatch]:
    """Every mismatch of one route on one day (raises PortUnavailable if the aggregator cannot tell)."""
    current = peers.current()
    networks = [n for n, r in current.carrier_routes.items() if r == route and n != "*"]
    orders = Order.objects.select_related("plan").filter(status__in=_SETTLED, created_at__range=_window(day))
    if current.carrier_routes.get("*") != route:
        orders = orders.filter(network_id__in=networks)
    todays, later = _sales(ledger, day)
    by_reference = {sale.reference: sale for sale in (*todays, *later)}
    products = _product_refs(route)
    found = [m for order in orders if (m := _compare(route, order, by_reference.get(order.id), products))]
    ours = {order.id for order in orders}
    strangers = [sale for sale in todays if sale.state == "completed" and sale.reference not in ours]
    known = {o.id: o for o in Order.objects.filter(id__in=[s.reference for s in strangers])}
    for sale in strangers:
        order = known.get(sale.reference)
        if order is None:
            found.append(
                Mismatch(route, sale.reference, "completed_unknown_order", f"sale {sale.carrier_ref}")
            )
        elif order.status != OrderStatus.DELIVERED:
            found.append(Mismatch(route, order.id, "completed_not_delivered", f"order is {order.status}"))
    return sorted(found, key=lambda m: (m.order_id, m.kind))


def reconcile(day: date) -> list[Mismatch]:
    """Every aggregator route's mismatches of `day`."""
    ledgers = [
        (name, gw) for name, gw in sorted(peers.current().carriers.items()) if isinstance(gw, CarrierLedger)
    ]
    return [m for name, ledger in ledgers for m in reconcile_route(name, ledger, day)]
