"""The X/Z report against the cash-session bugs POS users report (reference/shops.md), one by one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.errors import DomainError
from topup.domain.shifts import Movement, MovementKind, shift_report

SALE, VOID, REFUND = MovementKind.SALE, MovementKind.VOID, MovementKind.REFUND


def test_change_given_is_not_counted_as_takings() -> None:
    # A €15 top-up paid with a €20 note: €20 in, €5 out; the drawer holds €15 more, not €20.
    report = shift_report(
        "EUR", 5000, [Movement(SALE, "cash", 1500, cash_given_minor=2000, change_minor=500)]
    )
    assert report.cash_received_minor == 2000
    assert report.change_given_minor == 500
    assert report.expected_cash_minor == 5000 + 1500


def test_cash_refunds_and_voids_leave_the_drawer_card_ones_do_not() -> None:
    moves = [
        Movement(SALE, "cash", 1000),
        Movement(SALE, "cash", 2000),
        Movement(SALE, "card", 1500),
        Movement(VOID, "cash", 1000),
        Movement(REFUND, "cash", 2000),
        Movement(VOID, "card", 1500),
    ]
    report = shift_report("EUR", 0, moves)
    assert report.expected_cash_minor == 0
    assert (report.cash_voids_minor, report.cash_refunds_minor, report.card_voids_minor) == (1000, 2000, 1500)
    assert report.sales_count == 3
    assert report.voids_count == 2


def test_the_opening_float_is_counted_once_and_its_difference_shown() -> None:
    report = shift_report("EUR", 6000, [Movement(SALE, "cash", 1000)], carried_minor=5000)
    assert report.expected_cash_minor == 7000  # not 12000 (counted twice), not 1000 (dropped)
    assert report.opening_difference_minor == 1000


def test_a_variance_is_kept_with_its_reason_never_forced_to_zero() -> None:
    report = shift_report(
        "EUR", 5000, [Movement(SALE, "cash", 1000)], counted_cash_minor=5900, variance_reason="coin dropped"
    )
    assert report.variance_minor == -100
    assert report.variance_reason == "coin dropped"
    with pytest.raises(DomainError) as refused:
        shift_report("EUR", 5000, [Movement(SALE, "cash", 1000)], counted_cash_minor=5900)
    assert refused.value.code == "variance_reason_required"


def test_x_and_z_are_the_same_numbers() -> None:
    moves = [
        Movement(SALE, "cash", 1500, 2000, 500),
        Movement(SALE, "card", 1000),
        Movement(VOID, "card", 1000),
    ]
    x = shift_report("EUR", 5000, moves)
    z = shift_report("EUR", 5000, moves, counted_cash_minor=6500)
    assert {**x.to_dict(), "counted_cash_minor": 6500, "variance_minor": 0} == z.to_dict()


@st.composite
def movements(draw: st.DrawFn) -> Movement:
    kind = draw(st.sampled_from(list(MovementKind)))
    tender = (
        "cash"
        if kind in {MovementKind.PAID_IN, MovementKind.PAID_OUT}
        else draw(st.sampled_from(["cash", "card"]))
    )
    amount = draw(st.integers(1, 10_000))
    if kind is MovementKind.SALE and tender == "cash" and draw(st.booleans()):
        change = draw(st.integers(0, 5_000))
        return Movement(kind, tender, amount, cash_given_minor=amount + change, change_minor=change)
    return Movement(kind, tender, amount)


@given(st.integers(0, 100_000), st.lists(movements(), max_size=30))
def test_expected_cash_is_the_drawers_net_of_prices(opening: int, moves: list[Movement]) -> None:
    """An independent model: the drawer gains each cash sale's price (whatever note paid it) and loses
    each cash void and refund; paid in and out move it as they say; card never touches it."""
    sign = {MovementKind.SALE: 1, MovementKind.VOID: -1, MovementKind.REFUND: -1}
    model = opening + sum(
        (1 if m.kind is MovementKind.PAID_IN else -1 if m.kind is MovementKind.PAID_OUT else sign[m.kind])
        * m.amount_minor
        for m in moves
        if m.tender == "cash"
    )
    x = shift_report("EUR", opening, moves)
    assert x.expected_cash_minor == model
    z = shift_report("EUR", opening, moves, counted_cash_minor=max(model, 0), variance_reason="counted")
    assert z.expected_cash_minor == x.expected_cash_minor
