"""Delivering a paid order to its carrier, and refunding it when the carrier refuses it for good.

A credit plan is a top-up of its face value; an external bundle is activated as the carrier route's
product (frozen in the quote), never credited. A timeout is "unknown": before any retry the carrier is
asked for the status of our reference (the order id), whichever of the two it was. Past the delivery
deadline the reference is cancelled at the carrier before the refund, so a late arrival can never credit
a line whose money went back. Each outcome is one transaction.

The deadline bounds every failure path: an exception past it leads to the same cancel-then-refund
(for a new eSIM: release the reserved profile, then refund). A delivery reads its plan and network
from the order's frozen quote, never from the live catalogue, so catalogue edits spare orders in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from topup import logcontext, order_trail
from topup.clock import now
from topup.db import ledger
from topup.db.models import Line, NetworkRecord, Order
from topup.domain import ledger as postings
from topup.domain.catalogue import NetworkKind
from topup.domain.errors import Conflict
from topup.domain.orders import OrderStatus, check_transition
from topup.domain.quotes import Quote
from topup.metrics import record
from topup.ports import CarrierOutcome, CarrierResult
from topup.services import carrier_products, esim, peers, promotions, refunds
from topup.services.payments import enqueue
from topup.services.transitions import move, moved_many

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    """What the worker does with the job next: finished, or run again after `retry_in_s`; `record`, when
    given, writes the job's outcome in the worker's transaction that marks the job (only while the lease
    is still ours)."""

    done: bool
    retry_in_s: float = 0.0
    note: str = ""
    record: Callable[[], None] | None = None


DONE = JobResult(done=True)


def start_deliveries(order_ids: Sequence[str]) -> None:
    """Move paid orders to `delivering` in bulk, inside the caller's transaction (the worker's claim)."""
    at = now()
    paid = Order.objects.filter(id__in=order_ids, status=OrderStatus.PAID.value)
    if connection.features.has_select_for_update:
        paid = paid.select_for_update()
    # The key: whose partner callback hears of the move; channel, network, payment: /metrics' labels.
    moved = list(paid.only("id", "api_key_id", *record.LABEL_FIELDS))
    ids = [order.id for order in moved]
    if not ids:
        return
    check_transition(OrderStatus.PAID, OrderStatus.DELIVERING)
    Order.objects.filter(id__in=ids, status=OrderStatus.PAID.value).update(
        status=OrderStatus.DELIVERING.value, updated_at=at
    )
    moved_many(moved, OrderStatus.PAID, OrderStatus.DELIVERING, at=at)


def deliver(order_id: str, attempt: int) -> JobResult:
    """Deliver a paid order; past its deadline, any exception ends in cancel-then-refund, never a retry."""
    logcontext.bind(order_id=order_id)
    try:
        return _deliver(order_id, attempt)
    except Exception:
        order = Order.objects.filter(id=order_id).first()
        if order is None or order.status != OrderStatus.DELIVERING or not past_deadline(order):
            raise
        log.exception("delivery failed past its deadline: cancel, then refund", extra={"order_id": order_id})
        return _give_up(order)


def past_deadline(order: Order) -> bool:
    return order.delivery_deadline is not None and now() >= order.delivery_deadline


def network_kind(order: Order, quote: Quote) -> NetworkKind:
    """From the frozen quote; orders stored before it was frozen read their network row (never deleted)."""
    if quote.network_kind is not None:
        return NetworkKind(quote.network_kind)
    return NetworkKind(NetworkRecord.objects.values_list("kind", flat=True).get(id=order.network_id))


def _give_up(order: Order) -> JobResult:
    """The deadline passed: make sure nothing can still be delivered, then refund."""
    if network_kind(order, Quote.from_dict(order.quote)) is NetworkKind.HOSTED:
        if order.line_id is None and order.iccid and not _held_by_live_line(order.iccid):
            esim.release_reservation(order.iccid)
        return _failed(order, "delivery_deadline_passed")
    return _settle_after_deadline(
        order, peers.current().carrier(order.network_id).cancel(order.network_id, order.id)
    )


def _held_by_live_line(iccid: str) -> bool:
    """Another customer's line holds this ICCID: its profile must not go back to the pool."""
    return Line.objects.filter(iccid=iccid).exclude(profile_state__in=esim.RECYCLABLE_STATES).exists()


def _deliver(order_id: str, attempt: int) -> JobResult:
    order = Order.objects.get(id=order_id)
    order_trail.follow(order)  # the placing request's id on its lines and carrier call's, a span link
    if order.status == OrderStatus.PAID:  # claimed by a worker that did not start it (older job rows)
        with transaction.atomic():
            start_deliveries([order_id])
        order = Order.objects.get(id=order_id)
    if order.status != OrderStatus.DELIVERING:
        return JobResult(done=True, note=f"nothing to deliver in status {order.status}")
    quote = Quote.from_dict(order.quote)
    if network_kind(order, quote) is NetworkKind.HOSTED:
        return _deliver_hosted(order, quote, attempt)
    carrier = peers.current().carrier(order.network_id)
    if past_deadline(order):
        return _settle_after_deadline(order, carrier.cancel(order.network_id, order.id))
    if attempt > 1:
        # An earlier attempt may have reached the carrier (timeout, crash): ask before sending again.
        known = carrier.status(order.network_id, order.id)
        if known.outcome is CarrierOutcome.CONFIRMED:
            return _delivered(order, quote, known)
        if known.outcome is CarrierOutcome.CANCELLED:
            return _failed(order, "carrier_cancelled")
        if known.outcome is not CarrierOutcome.NOT_FOUND:
            return _retry(attempt, known)
    return settle(order, quote, attempt, _send(order, quote))


def settle(order: Order, quote: Quote, attempt: int, result: CarrierResult) -> JobResult:
    """The carrier's answer to a first send, recorded for this order alone (each outcome one transaction)."""
    if result.outcome is CarrierOutcome.CONFIRMED:
        return _delivered(order, quote, result)
    if result.outcome is CarrierOutcome.REJECTED:
        return _failed(order, result.code or "carrier_rejected")
    return _retry(attempt, result)


def _send(order: Order, quote: Quote) -> CarrierResult:
    """Credit as a top-up of its face value; a bundle as the route's product, the credit untouched."""
    route = peers.current().carrier_route(order.network_id)
    carrier = peers.current().carrier(order.network_id)
    try:
        product_ref = carrier_products.for_delivery(quote, route)
    except Conflict as exc:  # the route has no product for this bundle: never send its price as credit
        return CarrierResult(CarrierOutcome.REJECTED, code=exc.code)
    if product_ref is None:
        return carrier.topup(order.network_id, order.msisdn, quote.face_value, order.id)
    return carrier.activate_bundle(order.network_id, order.msisdn, product_ref, quote.face_value, order.id)


def backoff_s(attempt: int) -> float:
    # Exponential backoff from 0.5 s, capped at 60 s; the deadline bounds the whole affair.
    return min(0.5 * 2.0 ** min(attempt - 1, 10), 60.0)


def _retry(attempt: int, result: CarrierResult) -> JobResult:
    return JobResult(done=False, retry_in_s=backoff_s(attempt), note=result.code or "")


def _settle_after_deadline(order: Order, cancelled: CarrierResult) -> JobResult:
    if cancelled.outcome is CarrierOutcome.CONFIRMED:
        return _delivered(order, Quote.from_dict(order.quote), cancelled)
    if cancelled.outcome in {CarrierOutcome.CANCELLED, CarrierOutcome.NOT_FOUND}:
        return _failed(order, "delivery_deadline_passed")
    # Not even the cancel went through: we cannot know, so we may not refund yet.
    return JobResult(done=False, retry_in_s=5.0, note=f"cancel {cancelled.code}")


def _deliver_hosted(order: Order, quote: Quote, attempt: int) -> JobResult:
    """Our own network: a new eSIM needs a profile from the SM-DP+; then the bundle is ours to add."""
    provisioned = None
    if order.line_id is None:
        provisioned = esim.reserve_profile(order)
        if not provisioned.ok:
            return _smdp_refused(order, provisioned, attempt)
    return _delivered(order, quote, None, provisioned)


def _smdp_refused(order: Order, provisioned: esim.Provisioned, attempt: int) -> JobResult:
    result = provisioned.result
    assert result is not None
    if result.transient and not past_deadline(order):
        return JobResult(done=False, retry_in_s=backoff_s(attempt), note="smdp transient")
    if provisioned.iccid:
        esim.release_reservation(provisioned.iccid)
    code = "smdp_unavailable" if result.transient else esim.smdp_code(result)
    return _failed(order, code, detail=result.message or "")


def _delivered(
    order: Order, quote: Quote, result: CarrierResult | None, provisioned: esim.Provisioned | None = None
) -> JobResult:
    at = now()
    try:
        return _record_delivery(order, quote, result, provisioned, at)
    except Conflict as exc:  # the SM-DP+ handed out the ICCID of a line that is still alive
        if exc.code != "smdp_iccid_in_use":
            raise
        return _failed(order, exc.code, detail=exc.message)


def _record_delivery(
    order: Order,
    quote: Quote,
    result: CarrierResult | None,
    provisioned: esim.Provisioned | None,
    at: datetime,
) -> JobResult:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order.id)
        if order.status != OrderStatus.DELIVERING:
            return DONE
        if provisioned is not None:
            esim.create_line(order, provisioned, at)
        if order.line_id is not None:
            esim.add_bundle(order.line_id, order, at)
        promotions.at_delivery(order, quote, at)  # a free bundle, bonus data or credit, a free next purchase
        carrier_ref = result.carrier_ref or "" if result else ""
        move(order, OrderStatus.DELIVERED, at=at, carrier_ref=carrier_ref)
        ledger.post(postings.delivery_confirmed(order.id, quote), now=at, order_id=order.id)
    log.info("delivered", extra={"order_id": order.id, "network": order.network_id})
    return DONE


def _failed(order: Order, code: str, detail: str = "") -> JobResult:
    at = now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order.id)
        if order.status != OrderStatus.DELIVERING:
            return DONE
        move(order, OrderStatus.DELIVERY_FAILED, at=at, code=code, detail=detail, failure_code=code)
        enqueue("refund", order.id, at=at)
    log.warning("delivery failed: %s", code, extra={"order_id": order.id, "network": order.network_id})
    return DONE


def refund(order_id: str, attempt: int) -> JobResult:
    """Give the order's money back through the provider (services/refunds: a refund may stay pending)."""
    return _refund_job(refunds.refund_order(order_id), attempt)


def refund_payment(payment_id: str, attempt: int) -> JobResult:
    """Give back a stray payment attempt (it succeeded after another paid the order, or too late)."""
    return _refund_job(refunds.refund_stray(payment_id), attempt)


def _refund_job(outcome: str, attempt: int) -> JobResult:
    if outcome.startswith("retry:"):
        return JobResult(
            done=False,
            retry_in_s=min(2.0 * 2 ** min(attempt - 1, 8), 300.0),
            note=outcome.removeprefix("retry:"),
        )
    return JobResult(done=True, note=outcome)
