"""The order state machine: which status may follow which, and which statuses are final or mean "paid"."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from topup.domain.errors import IllegalTransition


class OrderStatus(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DELIVERY_FAILED = "delivery_failed"
    REFUNDED = "refunded"


_S = OrderStatus

TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = MappingProxyType(
    {
        _S.CREATED: frozenset({_S.AWAITING_PAYMENT, _S.CANCELLED}),
        _S.AWAITING_PAYMENT: frozenset({_S.PAID, _S.EXPIRED, _S.CANCELLED}),
        _S.PAID: frozenset({_S.DELIVERING, _S.DELIVERY_FAILED}),
        _S.DELIVERING: frozenset({_S.DELIVERED, _S.DELIVERY_FAILED}),
        _S.DELIVERY_FAILED: frozenset({_S.REFUNDED}),
        _S.DELIVERED: frozenset({_S.REFUNDED}),  # an eSIM cancelled before its profile was downloaded
        _S.EXPIRED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.REFUNDED: frozenset(),
    }
)

# Settled: where an order's money rests. Only `delivered` has a way out, taken once at most: an eSIM
# cancelled before its profile was downloaded is refunded.
TERMINAL_STATES: Final = frozenset({_S.DELIVERED, _S.EXPIRED, _S.CANCELLED, _S.REFUNDED})

# Money was taken: every order in one of these ends delivered or refunded.
PAID_STATES: Final = frozenset({_S.PAID, _S.DELIVERING, _S.DELIVERED, _S.DELIVERY_FAILED, _S.REFUNDED})


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    """Raise IllegalTransition unless the machine allows `current` -> `new`."""
    if not can_transition(current, new):
        raise IllegalTransition(
            f"an order cannot go from {current} to {new}", code="illegal_transition", field="status"
        )


def is_terminal(status: OrderStatus) -> bool:
    return status in TERMINAL_STATES
