"""After the failover test's load: what the database, the payment and carrier simulators and the ledger say,
and every broken promise found in it (`judge`, pure: an empty list of violations is the good answer).

Promises: every order acknowledged with a 2xx exists (no acknowledged write lost); every paid order ends
delivered or refunded, exactly once; a delivered order is credited once at the carrier (one confirmed
reference, no duplicate), anything else never; each line's carrier balance is what was delivered to it; a
succeeded payment is charged once and refunded only when its order was refunded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx
import psycopg

from topup.cluster.load import PlacedOrder

TERMINAL = frozenset({"delivered", "refunded", "expired", "cancelled"})
PAID_OR_LATER = frozenset({"paid", "delivering", "delivered", "delivery_failed", "refunded"})
Json = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Evidence:
    statuses: Mapping[str, str]  # order id -> status in the database (missing: not there)
    intents: Sequence[Json]  # the payment simulator's intents
    carrier_topups: Sequence[Json]  # the carrier simulator's confirmed top-ups (all of them)
    balances: Mapping[str, int]  # msisdn -> balance_minor at the carrier
    face_value_minor: int
    ledger_balanced: bool | None
    notes: list[str] = field(default_factory=list)


def order_statuses(direct_url: str, order_ids: Sequence[str]) -> dict[str, str]:
    with psycopg.connect(direct_url, connect_timeout=5) as conn:
        rows = conn.execute('SELECT id, status FROM "order" WHERE id = ANY(%s)', (list(order_ids),))
        return {str(order_id): str(status) for order_id, status in rows.fetchall()}


def wait_until_ended(direct_url: str, orders: Sequence[PlacedOrder], timeout_s: float) -> dict[str, str]:
    """Order statuses once every approved order has ended (or `timeout_s` passed)."""
    ids = [o.order_id for o in orders if o.order_id]
    waited_for = {o.order_id for o in orders if o.order_id and o.approved}
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            statuses = order_statuses(direct_url, ids)
        except psycopg.Error:
            statuses = {}
        if statuses and all(statuses.get(i) in TERMINAL for i in waited_for):
            return statuses
        if time.monotonic() > deadline:
            return statuses
        time.sleep(2)


def _pages(client: httpx.Client, url: str, key: str, items: str, cursor: str) -> list[Json]:
    """Every item of a paginated listing (Stripe's `starting_after`, the carrier's `after`/`next_after`)."""
    found: list[Json] = []
    after: str | None = None
    for _ in range(10_000):
        params = {"limit": "100"} | ({cursor: after} if after else {})
        page = client.get(url, params=params, headers={"Authorization": f"Bearer {key}"}).raise_for_status()
        body = page.json()
        batch = [item for item in body.get(items, []) if isinstance(item, dict)]
        found.extend(batch)
        if cursor == "starting_after":
            after = str(batch[-1]["id"]) if batch and body.get("has_more") else None
        else:
            after = body.get("next_after")
        if not after:
            break
    return found


def gather(urls: Mapping[str, str], keys: Mapping[str, str], orders: Sequence[PlacedOrder],
           statuses: Mapping[str, str], plan_id: str) -> Evidence:  # fmt: skip
    """Ask the peers: intents, confirmed top-ups, line balances, the plan's price, the trial balance."""
    notes: list[str] = []
    with httpx.Client(timeout=10) as client:
        intents = _pages(client, f"{urls['payments']}/v1/payment_intents", keys["payments"], "data",
                         "starting_after")  # fmt: skip
        topups = _pages(client, f"{urls['carriers']}/v1/networks/proximus/topups", keys["carriers"],
                        "topups", "after")  # fmt: skip
        balances: dict[str, int] = {}
        for order in orders:
            url = f"{urls['carriers']}/v1/networks/proximus/lines/{order.msisdn}/balance"
            answer = client.get(url, headers={"Authorization": f"Bearer {keys['carriers']}"})
            if answer.status_code == 200:
                balances[order.msisdn] = int(answer.json()["balance_minor"])
        plans = client.get(f"{urls['web']}/api/v1/plans").raise_for_status().json()
        price = next(p["price"]["amount_minor"] for p in plans if p.get("id") == plan_id)
        trial = client.get(f"{urls['web']}/api/v1/admin/ledger/trial-balance",
                           headers={"Authorization": f"Bearer {keys['admin']}"})  # fmt: skip
        balanced = trial.json().get("balanced") if trial.status_code == 200 else None
        if balanced is None:
            notes.append(f"trial balance not read: HTTP {trial.status_code}")
    return Evidence(statuses, intents, topups, balances, int(price), balanced, notes)


def _order_of(intent: Json) -> str | None:
    metadata = intent.get("metadata")
    order_id = metadata.get("order_id") if isinstance(metadata, Mapping) else None
    return order_id if isinstance(order_id, str) else None


def judge(orders: Sequence[PlacedOrder], evidence: Evidence) -> tuple[dict[str, int], list[str]]:
    """(counts, violations) of the run."""
    violations: list[str] = []
    acknowledged = [o for o in orders if o.order_id]
    lost = [o.order_id for o in acknowledged if o.order_id not in evidence.statuses]
    violations += [f"{i}: acknowledged (2xx) but not in the database" for i in lost]
    charged: Counter[str] = Counter()
    refunded_money: set[str] = set()
    for intent in evidence.intents:
        if (order_id := _order_of(intent)) is not None and intent.get("status") == "succeeded":
            charged[order_id] += 1
            if isinstance(refund := intent.get("amount_refunded"), int) and refund > 0:
                refunded_money.add(order_id)
    references = Counter(str(t.get("reference")) for t in evidence.carrier_topups)
    duplicates = [ref for ref, n in references.items() if n > 1]
    violations += [f"{ref}: {references[ref]} confirmed top-ups at the carrier" for ref in duplicates]
    for order in acknowledged:
        violations += _order_violations(order, evidence, charged, refunded_money, references)
    statuses = Counter(evidence.statuses.get(o.order_id or "", "missing") for o in acknowledged)
    if evidence.ledger_balanced is not True:
        violations.append(f"trial balance: balanced={evidence.ledger_balanced}")
    counts = {
        "orders_started": len(orders),
        "orders_acknowledged": len(acknowledged),
        "orders_paid": sum(charged[o.order_id or ""] > 0 for o in acknowledged),
        "delivered": statuses["delivered"],
        "refunded": statuses["refunded"],
        "lost": len(lost),
        "duplicates": len(duplicates) + sum(charged[o.order_id or ""] > 1 for o in acknowledged),
        "carrier_topups": sum(references[o.order_id or ""] for o in acknowledged),
        "not_ended": sum(s not in TERMINAL for s in statuses.elements()),
    }
    return counts, violations


def _order_violations(order: PlacedOrder, evidence: Evidence, charged: Counter[str], refunded_money: set[str],
                      references: Counter[str]) -> list[str]:  # fmt: skip
    order_id = order.order_id or ""
    status = evidence.statuses.get(order_id)
    if status is None:
        return []
    found = []
    if charged[order_id] > 1:
        found.append(f"{order_id}: charged {charged[order_id]} times")
    if charged[order_id] and status not in {"delivered", "refunded"}:
        found.append(f"{order_id}: paid but ended {status}")
    if status == "delivered" and (references[order_id] != 1 or order_id in refunded_money):
        found.append(f"{order_id}: delivered, {references[order_id]} carrier top-ups, refunded money "
                     f"{order_id in refunded_money}")  # fmt: skip
    if status != "delivered" and references[order_id]:
        found.append(f"{order_id}: {status} but credited at the carrier")
    if status == "refunded" and order_id not in refunded_money:
        found.append(f"{order_id}: refunded but the provider refunded nothing")
    expected = evidence.face_value_minor if status == "delivered" else 0
    balance = evidence.balances.get(order.msisdn)
    if balance is not None and balance != expected:
        found.append(f"{order_id}: line {order.msisdn} holds {balance} at the carrier, expected {expected}")
    if balance is None:
        found.append(f"{order_id}: the carrier's balance of {order.msisdn} could not be read")
    return found
