"""The promises a chaos run checks at the end, judged from what the runner did (its model: the outcomes) and
from independent books: the platform's database and ledger, the payment simulator's intents and refunds, the
carrier simulator's top-ups and line balances. Pure: the caller fetches, this module only judges.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from topup.chaos.driver import Outcome

Json = Mapping[str, Any]
IN_FLIGHT = frozenset({"paid", "delivering", "delivery_failed"})
FINAL_PAID = frozenset({"delivered", "refunded"})
HOSTED = "topup-esim"


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    order_id: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.order_id} {self.detail}"


@dataclass(frozen=True, slots=True)
class Books:
    """Everything read after the run; see `topup.chaos.staff.snapshot` for the database part."""

    snapshot: Json
    intents: Sequence[Json]
    topups: Mapping[str, Sequence[Json]]  # network -> confirmed top-ups at the carrier
    balances: Mapping[str, int]  # msisdn -> balance_minor at its carrier
    payment_summary: Json = field(default_factory=dict)


def check(outcomes: Sequence[Outcome], books: Books) -> list[Violation]:
    orders = {o["id"]: o for o in books.snapshot["orders"]}
    payments: dict[str, list[Json]] = defaultdict(list)
    for payment in books.snapshot["payments"]:
        payments[payment["order_id"]].append(payment)
    found: list[Violation] = []
    found += _final_states(orders)
    found += _model(outcomes, orders, payments)
    found += _charges(orders, payments, books.intents)
    found += _carriers(orders, books.topups, books.balances)
    found += _vouchers(orders, books.snapshot["payments"])
    found += _ledger(books.snapshot, books.intents, payments)
    return found


def _final_states(orders: Mapping[str, Json]) -> Iterable[Violation]:
    for order in orders.values():
        if order["status"] in IN_FLIGHT:
            detail = f"still {order['status']} ({order['plan_id']}, deadline {order['deadline']})"
            yield Violation("stuck", order["id"], detail)


def _model(
    outcomes: Sequence[Outcome], orders: Mapping[str, Json], payments: Mapping[str, list[Json]]
) -> Iterable[Violation]:
    for outcome in outcomes:
        order = orders.get(outcome.order_id or "")
        if order is None:
            if outcome.order_id:
                yield Violation("unknown_order", outcome.order_id, "answered to us but not in the database")
            continue
        status, plan = order["status"], outcome.plan
        late = (
            outcome.paid and plan.kind.startswith(("api_", "sms_")) and status not in FINAL_PAID | IN_FLIGHT
        )
        if late and not any(p["status"] == "refunded" for p in payments.get(order["id"], [])):
            # A payment that lands after its order expired must be given back (the provider's side of it
            # is checked with every other refund).
            yield Violation("charged_not_refunded", order["id"], f"checkout succeeded, order {status}")
        if plan.payer != "approve" and status in FINAL_PAID | IN_FLIGHT:
            rule = f"{plan.webhook}_paid" if plan.webhook.startswith("forge") else "unpaid_order_paid"
            yield Violation(rule,
                            order["id"], f"{plan.payer} at checkout, yet {status}")  # fmt: skip
        if plan.webhook.startswith("forge"):
            yield from _forged(outcome, order, payments.get(order["id"], []))
        if outcome.cancel == "202" and status != "refunded":
            yield Violation("cancelled_esim_not_refunded", order["id"], f"cancel accepted, order {status}")


def _forged(outcome: Outcome, order: Json, payments: Sequence[Json]) -> Iterable[Violation]:
    kind = outcome.plan.webhook
    if outcome.forged_status is not None and kind == "forge_signature" and outcome.forged_status < 300:
        yield Violation("forged_signature_accepted", order["id"], f"answered {outcome.forged_status}")
    succeeded = [p for p in payments if p["status"] in {"succeeded", "refunded"}]
    if succeeded and order["status"] not in FINAL_PAID | IN_FLIGHT:  # else already named as paid
        yield Violation(f"{kind}_changed_payment", order["id"], f"payment {succeeded[0]['status']}")
    if kind == "forge_amount" and not any(p["status"] == "needs_review" for p in payments):
        found = ",".join(p["status"] for p in payments) or "none"
        yield Violation("forge_amount_not_flagged", order["id"], f"payment status {found}, not needs_review")


def _intent_order(intent: Json) -> str | None:
    metadata = intent.get("metadata")
    order_id = metadata.get("order_id") if isinstance(metadata, Mapping) else None
    return order_id if isinstance(order_id, str) else None


def _charges(
    orders: Mapping[str, Json], payments: Mapping[str, list[Json]], intents: Sequence[Json]
) -> Iterable[Violation]:
    by_order: dict[str, list[Json]] = defaultdict(list)
    for intent in intents:
        order_id = _intent_order(intent)
        if order_id:
            by_order[order_id].append(intent)
    for order_id, order in orders.items():
        taken = [p for p in payments.get(order_id, []) if p["status"] in {"succeeded", "refunded"}]
        if len(taken) > 1:
            yield Violation("charged_twice", order_id, f"{len(taken)} captured payments in our books")
        charged = [i for i in by_order.get(order_id, []) if i.get("status") == "succeeded"]
        if len(charged) > 1:
            yield Violation("charged_twice", order_id, f"{len(charged)} succeeded intents at the provider")
        at_stripe = [p for p in taken if p["provider"] == "stripe"]
        if not at_stripe or order["status"] not in FINAL_PAID:
            continue
        refunded_there = sum(int(i.get("amount_refunded") or 0) for i in charged)
        if not charged:
            yield Violation(
                "paid_without_charge", order_id, f"{order['status']} but the provider charged nothing"
            )
        elif order["status"] == "delivered" and (refunded_there or at_stripe[0]["status"] == "refunded"):
            yield Violation("delivered_and_refunded", order_id, f"provider refunded {refunded_there}")
        elif order["status"] == "refunded" and refunded_there != int(charged[0].get("amount") or 0):
            yield Violation(
                "refund_missing",
                order_id,
                f"provider refunded {refunded_there} of {charged[0].get('amount')}",
            )


def _carriers(
    orders: Mapping[str, Json], topups: Mapping[str, Sequence[Json]], balances: Mapping[str, int]
) -> Iterable[Violation]:
    credited: dict[str, list[Json]] = defaultdict(list)
    for network_topups in topups.values():
        for topup in network_topups:
            credited[str(topup.get("reference"))].append(topup)
    expected: Counter[str] = Counter()
    for order_id, order in orders.items():
        if order["network"] == HOSTED or not order["msisdn"]:
            continue
        records = credited.get(order_id, [])
        delivered = order["status"] == "delivered"
        if delivered:
            expected[order["msisdn"]] += int(order["face_minor"] or 0)
        if len(records) > 1:
            yield Violation("delivered_twice", order_id, f"{len(records)} carrier transactions")
        if delivered and not records:
            yield Violation(
                "delivered_not_credited", order_id, "delivered, but no confirmed top-up at the carrier"
            )
        if records and not delivered:
            yield Violation(
                "credited_not_delivered", order_id, f"{order['status']}, yet credited at the carrier"
            )
        if records and records[0].get("amount_minor") != order["face_minor"]:
            yield Violation("credited_wrong_amount", order_id, f"carrier {records[0].get('amount_minor')}")
    for msisdn, balance in sorted(balances.items()):
        if balance != expected[msisdn]:
            on_line = [i for i, o in orders.items() if o["msisdn"] == msisdn and o["status"] == "delivered"]
            detail = f"{msisdn} holds {balance} at its carrier; delivered {expected[msisdn]}"
            yield Violation("line_balance", ",".join(on_line) or msisdn, detail)


def _vouchers(orders: Mapping[str, Json], all_payments: Sequence[Json]) -> Iterable[Violation]:
    by_voucher: dict[str, list[str]] = defaultdict(list)
    for payment in all_payments:
        if payment["provider"] == "voucher" and payment["provider_ref"]:
            by_voucher[str(payment["provider_ref"]).partition("/")[0]].append(payment["order_id"])
    for serial, order_ids in by_voucher.items():
        kept = [i for i in order_ids if orders.get(i, {}).get("status") != "refunded"]
        if len(kept) > 1:
            yield Violation(
                "voucher_redeemed_twice", ",".join(kept), f"voucher {serial} pays {len(kept)} orders"
            )


def _ledger(
    snapshot: Json, intents: Sequence[Json], payments: Mapping[str, list[Json]]
) -> Iterable[Violation]:
    for row in snapshot["trial_balance"]:
        if not row["balanced"]:
            yield Violation(
                "ledger_unbalanced",
                "-",
                f"{row['currency']}: debits {row['debits']}, credits {row['credits']}",
            )
    stuck = {o["id"] for o in snapshot["orders"] if o["status"] in IN_FLIGHT}
    for held in snapshot["in_flight"]:  # per order: its money in flight, when not zero
        if held["held"] < 0:
            yield Violation("in_flight_overdrawn", held["id"], f"holds {held['held']}")
        elif held["id"] not in stuck:
            yield Violation("money_in_flight", held["id"], f"holds {held['held']}")
    ours = sum(
        int(p["refunded_minor"]) for rows in payments.values() for p in rows if p["provider"] == "stripe"
    )
    theirs = sum(int(i.get("amount_refunded") or 0) for i in intents if _intent_order(i))
    if ours != theirs:
        yield Violation("provider_refunds", "-", f"the provider refunded {theirs}, our books say {ours}")
