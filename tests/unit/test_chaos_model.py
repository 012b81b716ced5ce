"""`topup chaos`: the same seed makes the same decisions, and the judge names each broken promise."""

from __future__ import annotations

from typing import Any

from topup.chaos.driver import Outcome
from topup.chaos.invariants import Books, check
from topup.chaos.schedule import KILLABLE, OrderPlan, build


def test_the_same_seed_makes_the_same_decisions_and_another_seed_others() -> None:
    assert build(7, 120) == build(7, 120)
    assert build(7, 120).orders != build(8, 120).orders


def test_every_process_is_killed_and_every_fault_kind_fired_at_least_once() -> None:
    faults = build(3, 60).faults
    assert {f.target for f in faults if f.action == "kill"} == set(KILLABLE)
    assert {"carrier_faults", "smdp_faults", "deactivate"} <= {f.action for f in faults}
    assert all(5 <= f.at_order < 60 for f in faults)


def test_forged_webhooks_only_target_orders_nobody_paid() -> None:
    orders = build(11, 500).orders
    forged = [o for o in orders if o.webhook.startswith("forge")]
    assert forged
    assert all(o.payer == "abandon" for o in forged)


def _order(order_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": order_id, "status": status, "network": "proximus", "msisdn": "+32470300001",
            "face_minor": 500, "deadline": None, "plan_id": "proximus-credit-5", **extra}  # fmt: skip


def _books(orders: list[dict[str, Any]], payments: list[dict[str, Any]], intents: list[dict[str, Any]],
           topups: list[dict[str, Any]], balance: int) -> Books:  # fmt: skip
    trial = [{"currency": "EUR", "debits": 1, "credits": 1, "balanced": True}]
    snapshot = {"orders": orders, "payments": payments, "vouchers": [], "jobs": {}, "in_flight": [],
                "trial_balance": trial}  # fmt: skip
    return Books(snapshot, intents, {"proximus": topups}, {"+32470300001": balance})


def _payment(order_id: str, status: str, refunded: int = 0) -> dict[str, Any]:
    return {"order_id": order_id, "provider": "stripe", "status": status, "provider_ref": "pi_1",
            "amount_minor": 500, "refunded_minor": refunded}  # fmt: skip


def _intent(order_id: str, refunded: int = 0) -> dict[str, Any]:
    return {
        "status": "succeeded",
        "amount": 500,
        "amount_refunded": refunded,
        "metadata": {"order_id": order_id},
    }


def test_a_clean_delivery_breaks_no_promise() -> None:
    books = _books([_order("ord_a", "delivered")], [_payment("ord_a", "succeeded")], [_intent("ord_a")],
                   [{"reference": "ord_a", "amount_minor": 500}], 500)  # fmt: skip
    assert check([], books) == []


def test_stuck_double_charge_double_credit_and_a_forged_payment_are_each_named() -> None:
    forged = Outcome(OrderPlan(1, "unpaid", "proximus", "proximus-credit-5", "+32470300001",
                               payer="abandon", webhook="forge_amount"), order_id="ord_f")  # fmt: skip
    books = _books(
        [_order("ord_a", "delivering"), _order("ord_b", "delivered"), _order("ord_f", "delivered")],
        [_payment("ord_b", "succeeded"), _payment("ord_f", "succeeded")],
        [_intent("ord_b"), _intent("ord_b")],
        [{"reference": "ord_b", "amount_minor": 500}, {"reference": "ord_b", "amount_minor": 500},
         {"reference": "ord_f", "amount_minor": 500}],
        1500,
    )  # fmt: skip
    rules = {(v.rule, v.order_id) for v in check([forged], books)}
    assert ("stuck", "ord_a") in rules
    assert ("charged_twice", "ord_b") in rules
    assert ("delivered_twice", "ord_b") in rules
    assert ("forge_amount_paid", "ord_f") in rules
    assert ("forge_amount_not_flagged", "ord_f") in rules
    assert ("paid_without_charge", "ord_f") in rules


def test_a_refund_the_provider_never_made_and_a_credit_for_a_refunded_order_are_named() -> None:
    books = _books([_order("ord_r", "refunded")], [_payment("ord_r", "refunded", 500)], [_intent("ord_r")],
                   [{"reference": "ord_r", "amount_minor": 500}], 500)  # fmt: skip
    rules = {v.rule for v in check([], books)}
    assert {"refund_missing", "credited_not_delivered", "line_balance", "provider_refunds"} <= rules


def test_even_a_short_run_forges_both_kinds_replays_duplicates_and_cancels_an_esim() -> None:
    orders = build(1, 20).orders
    assert {"forge_signature", "forge_amount", "duplicate", "replay_late"} <= {o.webhook for o in orders}
    assert any(o.cancel_esim for o in orders)


def test_a_payment_that_lands_after_its_order_expired_must_be_given_back() -> None:
    late = Outcome(OrderPlan(2, "api_card", "proximus", "proximus-credit-5", "+32470300001"),
                   order_id="ord_l", paid=True)  # fmt: skip
    kept = _books([_order("ord_l", "expired")], [_payment("ord_l", "succeeded")], [_intent("ord_l")], [], 0)
    given_back = _books([_order("ord_l", "expired")], [_payment("ord_l", "refunded", 500)],
                        [_intent("ord_l", refunded=500)], [], 0)  # fmt: skip
    assert [v.rule for v in check([late], kept)] == ["charged_not_refunded"]
    assert check([late], given_back) == []
