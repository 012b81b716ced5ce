"""The order state machine against DESIGN.md, with random walks and every forbidden pair."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.errors import IllegalTransition
from topup.domain.orders import (
    PAID_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    OrderStatus,
    can_transition,
    check_transition,
    is_terminal,
)

S = OrderStatus

# The machine as drawn in DESIGN.md, written out independently of the module under test.
EXPECTED = {
    (S.CREATED, S.AWAITING_PAYMENT), (S.CREATED, S.CANCELLED),
    (S.AWAITING_PAYMENT, S.PAID), (S.AWAITING_PAYMENT, S.EXPIRED), (S.AWAITING_PAYMENT, S.CANCELLED),
    (S.PAID, S.DELIVERING), (S.PAID, S.DELIVERY_FAILED),
    (S.DELIVERING, S.DELIVERED), (S.DELIVERING, S.DELIVERY_FAILED),
    (S.DELIVERY_FAILED, S.REFUNDED),
    (S.DELIVERED, S.REFUNDED),  # an eSIM cancelled before download (the eSIM issue's lifecycle)
}  # fmt: skip


def test_machine_is_exactly_the_design() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert {(a, b) for a, nexts in TRANSITIONS.items() for b in nexts} == EXPECTED
    assert {s for s in OrderStatus if is_terminal(s)} == {S.DELIVERED, S.EXPIRED, S.CANCELLED, S.REFUNDED}
    assert {S.DELIVERED, S.EXPIRED, S.CANCELLED, S.REFUNDED} == TERMINAL_STATES
    assert {S.PAID, S.DELIVERING, S.DELIVERED, S.DELIVERY_FAILED, S.REFUNDED} == PAID_STATES


def test_values_are_the_stored_strings() -> None:
    assert [s.value for s in OrderStatus] == [
        "created", "awaiting_payment", "paid", "delivering", "delivered",
        "expired", "cancelled", "delivery_failed", "refunded",
    ]  # fmt: skip


@pytest.mark.parametrize(("current", "new"), sorted(EXPECTED))
def test_allowed_transitions_pass(current: OrderStatus, new: OrderStatus) -> None:
    check_transition(current, new)
    assert can_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"), [pair for pair in itertools.product(OrderStatus, repeat=2) if pair not in EXPECTED]
)
def test_every_other_pair_raises_and_names_both_states(current: OrderStatus, new: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, new)
    assert info.value.code == "illegal_transition"
    assert current.value in info.value.message
    assert new.value in info.value.message


def test_transition_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.DELIVERED] = frozenset({S.REFUNDED})  # type: ignore[index]


@given(choices=st.lists(st.integers(min_value=0, max_value=100), min_size=10, max_size=10))
def test_every_walk_from_created_ends_terminal(choices: list[int]) -> None:
    status = S.CREATED
    seen_paid = False
    for choice in choices:  # the longest path has 5 steps, so 10 choices always reach the end
        nexts = sorted(TRANSITIONS[status])
        if not nexts:
            break
        new = nexts[choice % len(nexts)]
        check_transition(status, new)
        status = new
        seen_paid = seen_paid or status in PAID_STATES
    assert is_terminal(status)
    if seen_paid:  # the promise: every paid order ends delivered or refunded
        assert status in {S.DELIVERED, S.REFUNDED}


@given(current=st.sampled_from(list(OrderStatus)), new=st.sampled_from(list(OrderStatus)))
def test_check_transition_agrees_with_the_table(current: OrderStatus, new: OrderStatus) -> None:
    if (current, new) in EXPECTED:
        check_transition(current, new)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, new)
