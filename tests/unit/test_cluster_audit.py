"""The failover test's judge (topup.cluster.audit.judge) and write figures: each broken promise named."""

from __future__ import annotations

from topup.cluster.audit import Evidence, judge
from topup.cluster.failover import write_figures
from topup.cluster.load import Attempt, PlacedOrder

FACE = 1000


def _order(i: int, *, acked_at: float | None = 1.0, answers: tuple[str, ...] = ("201",)) -> PlacedOrder:
    order = PlacedOrder(i, f"+3247000000{i}", f"k{i}", f"ord_{i}" if acked_at is not None else None, acked_at)
    order.attempts = [Attempt(acked_at or 0.0, "create", a) for a in answers]
    return order


def _intent(order_id: str, refunded: int = 0) -> dict[str, object]:
    return {"status": "succeeded", "metadata": {"order_id": order_id}, "amount_refunded": refunded}


def _evidence(**changes: object) -> Evidence:
    base: dict[str, object] = {
        "statuses": {"ord_0": "delivered", "ord_1": "refunded"},
        "intents": [_intent("ord_0"), _intent("ord_1", refunded=FACE)],
        "carrier_topups": [{"reference": "ord_0"}],
        "balances": {"+32470000000": FACE, "+32470000001": 0},
        "face_value_minor": FACE,
        "ledger_balanced": True,
    }
    return Evidence(**(base | changes))  # type: ignore[arg-type]


def test_a_clean_run_has_no_violation() -> None:
    counts, violations = judge([_order(0), _order(1)], _evidence())
    assert violations == []
    assert counts["delivered"] == 1
    assert counts["refunded"] == 1
    assert counts["lost"] == 0
    assert counts["duplicates"] == 0


def test_a_lost_acknowledged_order_is_named() -> None:
    _, violations = judge([_order(0), _order(1)], _evidence(statuses={"ord_0": "delivered"}))
    assert violations == ["ord_1: acknowledged (2xx) but not in the database"]


def test_a_second_carrier_credit_and_a_second_charge_are_duplicates() -> None:
    twice = _evidence(
        carrier_topups=[{"reference": "ord_0"}, {"reference": "ord_0"}],
        intents=[_intent("ord_0"), _intent("ord_0"), _intent("ord_1", refunded=FACE)],
    )
    counts, violations = judge([_order(0), _order(1)], twice)
    assert counts["duplicates"] == 2
    assert "ord_0: 2 confirmed top-ups at the carrier" in violations
    assert "ord_0: charged 2 times" in violations


def test_a_paid_order_left_in_flight_a_wrong_balance_and_an_unbalanced_ledger() -> None:
    evidence = _evidence(
        statuses={"ord_0": "delivering", "ord_1": "refunded"},
        carrier_topups=[],
        balances={"+32470000000": 0, "+32470000001": FACE},
        ledger_balanced=False,
    )
    _, violations = judge([_order(0), _order(1)], evidence)
    assert "ord_0: paid but ended delivering" in violations
    assert f"ord_1: line +32470000001 holds {FACE} at the carrier, expected 0" in violations
    assert "trial balance: balanced=False" in violations


def test_write_figures_measure_the_gap_across_the_kill_and_count_retries() -> None:
    orders = [
        _order(0, acked_at=1.0),
        _order(1, acked_at=2.0, answers=("503", "503", "201")),
        _order(2, acked_at=9.5),
    ]
    figures = write_figures(orders, {"killed_primary": {"at_s": 2.5}})
    assert figures["seconds_without_writes_at_failover"] == 7.5
    assert figures["failed_requests"] == 2
    assert figures["retried_requests"] == 2
    assert figures["orders_retried"] == 1
