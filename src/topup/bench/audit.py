"""Pure duplicate analysis of `topup bench`: given what the peers say, list every order paid, refunded or
credited more often than the promise allows (charged at most once; delivered xor refunded; one credit).

The caller fetches the evidence (payment intents, carrier top-ups, line balances); this module only judges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from topup.bench.report import TERMINAL, OrderResult

Json = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the peers reported after the run; a missing key means that fact could not be fetched."""

    intents: Sequence[Json]  # payment intents of the payment simulator (any order, any run)
    carrier_topups: Mapping[str, Json | None] = field(default_factory=dict)  # order id -> top-up or None
    balances_before: Mapping[str, int] = field(default_factory=dict)  # msisdn -> balance_minor
    balances_after: Mapping[str, int] = field(default_factory=dict)
    face_value_minor: int = 0  # what one delivered order credits to its line


def intent_order_id(intent: Json) -> str | None:
    metadata = intent.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    order_id = metadata.get("order_id")
    return order_id if isinstance(order_id, str) else None


def payments_by_order(intents: Sequence[Json]) -> dict[str, tuple[int, int]]:
    """Order id -> (succeeded intents, intents with money refunded)."""
    tally: dict[str, tuple[int, int]] = {}
    for intent in intents:
        order_id = intent_order_id(intent)
        if order_id is None:
            continue
        succeeded, refunded = tally.get(order_id, (0, 0))
        amount_refunded = intent.get("amount_refunded")
        tally[order_id] = (
            succeeded + (intent.get("status") == "succeeded"),
            refunded + (isinstance(amount_refunded, int) and amount_refunded > 0),
        )
    return tally


def _payment_violations(order: OrderResult, succeeded: int, refunded: int) -> list[str]:
    found = []
    if succeeded > 1:
        found.append(f"{order.order_id}: charged {succeeded} times")
    if order.outcome == "delivered" and refunded:
        found.append(f"{order.order_id}: delivered and refunded")
    if order.outcome in {"delivered", "refunded"} and succeeded == 0:
        found.append(f"{order.order_id}: {order.outcome} without a succeeded payment")
    return found


def _carrier_violations(order: OrderResult, evidence: Evidence) -> list[str]:
    """A finished order is credited once (delivered) or never (all else), at the carrier and on its line."""
    found = []
    delivered = order.outcome == "delivered"
    if order.order_id is not None and order.order_id in evidence.carrier_topups:
        topup = evidence.carrier_topups[order.order_id]
        confirmed = topup is not None and topup.get("status") == "confirmed"
        if delivered and not confirmed:
            found.append(f"{order.order_id}: delivered but not confirmed at the carrier")
        if not delivered and confirmed:
            found.append(f"{order.order_id}: {order.outcome} but confirmed at the carrier")
        if confirmed and topup is not None and topup.get("amount_minor") != evidence.face_value_minor:
            found.append(f"{order.order_id}: carrier credited {topup.get('amount_minor')}")
    before = evidence.balances_before.get(order.msisdn)
    after = evidence.balances_after.get(order.msisdn)
    if before is not None and after is not None:
        expected = evidence.face_value_minor if delivered else 0
        if after - before != expected:
            found.append(
                f"{order.order_id}: line {order.msisdn} moved by {after - before}, expected {expected}"
            )
    return found


def find_violations(orders: Sequence[OrderResult], evidence: Evidence) -> list[str]:
    """Every broken promise among the bench's orders; an empty list is the good answer.

    Orders still in flight (timeouts) are only checked for double charges: they may yet be delivered.
    """
    payments = payments_by_order(evidence.intents)
    found: list[str] = []
    for order in orders:
        if order.order_id is None:
            continue
        succeeded, refunded = payments.get(order.order_id, (0, 0))
        found.extend(_payment_violations(order, succeeded, refunded))
        if order.outcome in TERMINAL or order.outcome == "declined":
            found.extend(_carrier_violations(order, evidence))
    return found
