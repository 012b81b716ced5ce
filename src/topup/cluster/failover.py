"""`topup cluster failover`: the failover test on a running cluster (two web+worker pairs).

Orders are placed and paid at a steady rate through HAProxy :8080 (topup.cluster.load); after `kill_at_s`
the primary's whole host dies (SIGKILL of its PostgreSQL, Patroni and etcd member), `nodes_at_s` later one
web node and one worker node; the load goes on, stops, every paid order is waited for, and the database, the
simulators and the ledger are audited (topup.cluster.audit). The figures and every broken promise go to
`failover.json` in the cluster folder.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import psycopg

from topup.cluster import audit, control, procs
from topup.cluster.layout import DATABASE_HOSTS, Urls, cluster_dir
from topup.cluster.load import Load, LoadPlan, PlacedOrder
from topup.settings import DEMO_CARRIER_API_KEY, DEMO_PAYMENTS_API_KEY

FIRST_LINE = 470_000_000  # +32 470 ...: Proximus numbers, as `topup bench` uses


@dataclass(frozen=True, slots=True)
class Scenario:
    rate_per_s: float = 4.0
    kill_at_s: float = 15.0  # the primary's host
    nodes_at_s: float = 30.0  # web2 and worker2
    duration_s: float = 50.0
    drain_timeout_s: float = 180.0  # a dead worker's leases expire after TOPUP_JOB_LEASE_S (60 s)
    plan_id: str = "proximus-credit-10"


def leader() -> str | None:
    return next((str(m["name"]) for m in control.members() if m.get("role") == "leader"), None)


async def _chaos(load: Load, scenario: Scenario, events: dict[str, Any]) -> None:
    """Kill the primary's host, then a web and a worker node, and note when a new leader is seen."""
    await asyncio.sleep(scenario.kill_at_s)
    old = events["old_leader"]
    events["killed_primary"] = {"host": old, "at_s": load.now_s(), "processes": procs.kill_host(old)}
    watch_until = load.now_s() + 60
    while load.now_s() < watch_until and "new_leader" not in events:
        if (now := await asyncio.to_thread(leader)) not in {None, old}:
            events["new_leader"] = {"host": now, "at_s": load.now_s()}
        elif load.now_s() >= scenario.nodes_at_s and "killed_nodes" not in events:
            events["killed_nodes"] = _kill_nodes(load)
        await asyncio.sleep(0.5)
    await asyncio.sleep(max(0.0, scenario.nodes_at_s - load.now_s()))
    if "killed_nodes" not in events:
        events["killed_nodes"] = _kill_nodes(load)


def _kill_nodes(load: Load) -> dict[str, object]:
    return {"hosts": ["web2", "worker2"], "at_s": load.now_s(),
            "processes": procs.kill_host("web2") + procs.kill_host("worker2")}  # fmt: skip


async def _drive(load: Load, scenario: Scenario, events: dict[str, Any]) -> list[PlacedOrder]:
    chaos = asyncio.create_task(_chaos(load, scenario, events))
    orders = await load.run()
    await chaos
    return orders


def write_figures(orders: list[PlacedOrder], events: dict[str, Any]) -> dict[str, object]:
    """How long writes were refused, how many requests failed and were retried."""
    acked = sorted(o.created_at_s for o in orders if o.created_at_s is not None)
    gaps = [(b - a, a) for a, b in itertools.pairwise(acked)]
    longest, since = max(gaps, default=(0.0, 0.0))
    kill = events["killed_primary"]["at_s"]
    after_kill = [t for t in acked if t > kill]
    before_kill = [t for t in acked if t <= kill]
    outage = (after_kill[0] - before_kill[-1]) if after_kill and before_kill else None
    attempts = [a for o in orders for a in o.attempts]
    answers = Counter(a.answer for a in attempts)
    per_step = Counter(a.step for a in attempts)
    return {
        "seconds_without_writes_at_failover": round(outage, 2) if outage is not None else None,
        "longest_write_gap_s": round(longest, 2),
        "longest_write_gap_began_s": round(since, 2),
        "requests": len(attempts),
        "failed_requests": sum(not a.answer.startswith("2") for a in attempts),
        "retried_requests": len(attempts) - sum(1 for o in orders for step in {a.step for a in o.attempts}),
        "orders_retried": sum(o.failed_attempts > 0 for o in orders),
        "orders_given_up": sum(o.order_id is None for o in orders),
        "answers": dict(answers.most_common()),
        "requests_per_step": dict(per_step),
    }


def synchronous_state(direct_url: str, timeout_s: float = 60) -> dict[str, object]:
    """After the failover: Patroni's synchronous_mode and the new primary's synchronous standby."""
    deadline = time.monotonic() + timeout_s
    while not control.leader_and_sync() and time.monotonic() < deadline:
        time.sleep(1)
    config: dict[str, object] = {}
    for host in DATABASE_HOSTS:
        try:
            config = httpx.get(f"{Urls.patroni(host)}/config", timeout=2).json()
            break
        except (httpx.HTTPError, ValueError):
            continue
    with psycopg.connect(direct_url, connect_timeout=5) as conn:
        names = conn.execute("SHOW synchronous_standby_names").fetchone()
        commit = conn.execute("SHOW synchronous_commit").fetchone()
    members = [{k: m.get(k) for k in ("name", "role", "state")} for m in control.members()]
    return {
        "synchronous_mode": config.get("synchronous_mode"),
        "synchronous_standby_names": names[0] if names else None,
        "synchronous_commit": commit[0] if commit else None,
        "members": members,
    }


def run(scenario: Scenario = Scenario()) -> dict[str, Any]:
    made = control.state()
    if made.get("pairs") != 2 or not (old := leader()):  # a web and a worker node die
        raise control.ClusterError("the failover test needs `topup cluster up --pairs 2` with a leader")
    plan = LoadPlan(Urls.web, scenario.plan_id, scenario.rate_per_s, scenario.duration_s,
                    FIRST_LINE + secrets.randbelow(800_000) + 100_000, secrets.token_hex(4))  # fmt: skip
    load, events = Load(plan), {"old_leader": old}
    orders = asyncio.run(_drive(load, scenario, events))
    direct_url = str(made["direct_url"])
    drain_started = time.monotonic()
    statuses = audit.wait_until_ended(direct_url, orders, scenario.drain_timeout_s)
    drained_s = time.monotonic() - drain_started
    urls = {"web": Urls.web, "payments": Urls.payments, "carriers": Urls.carriers}
    keys = {"payments": DEMO_PAYMENTS_API_KEY, "carriers": DEMO_CARRIER_API_KEY}
    keys["admin"] = str(made["admin_key"])
    evidence = audit.gather(urls, keys, orders, statuses, scenario.plan_id)
    counts, violations = audit.judge(orders, evidence)
    synchronous = synchronous_state(direct_url)
    if synchronous["synchronous_mode"] is not True or not synchronous["synchronous_standby_names"]:
        violations.append(f"the new primary is not synchronous: {synchronous}")
    report = {
        "scenario": asdict(scenario),
        "events": events,
        "writes": write_figures(orders, events),
        "orders": counts,
        "unexpected_answers": dict(load.unexpected),
        "drain_s": round(drained_s, 1),
        "ledger_balanced": evidence.ledger_balanced,
        "synchronous": synchronous,
        "violations": violations,
        "notes": evidence.notes,
    }
    path = cluster_dir() / "failover.json"
    path.write_text(json.dumps(report, indent=1))
    return report


def summary(report: dict[str, Any]) -> str:
    w, o, e = report["writes"], report["orders"], report["events"]
    new, nodes = e.get("new_leader", {}), e.get("killed_nodes", {})
    lines = [
        f"failover: primary {e['old_leader']} killed at {e['killed_primary']['at_s']:.1f} s, new leader "
        f"{new.get('host')} seen at {new.get('at_s', float('nan')):.1f} s; "
        f"web2+worker2 killed at {nodes.get('at_s', float('nan')):.1f} s",
        f"seconds without writes at the failover: {w['seconds_without_writes_at_failover']} "
        f"(longest gap {w['longest_write_gap_s']} s from {w['longest_write_gap_began_s']} s)",
        f"requests {w['requests']}: failed {w['failed_requests']}, retried {w['retried_requests']} "
        f"({w['orders_retried']} orders retried, {w['orders_given_up']} given up); answers {w['answers']}",
        f"orders {o['orders_started']} started, {o['orders_acknowledged']} acknowledged, "
        f"{o['orders_paid']} paid, {o['delivered']} delivered, {o['refunded']} refunded, "
        f"{o['not_ended']} not ended; lost {o['lost']}, "
        f"duplicates {o['duplicates']}; carrier top-ups {o['carrier_topups']}; ledger balanced "
        f"{report['ledger_balanced']}; drained in {report['drain_s']} s",
        f"synchronous: mode {report['synchronous']['synchronous_mode']}, standby names "
        f"{report['synchronous']['synchronous_standby_names']!r}",
        f"violations: {len(report['violations'])}",
        *(f"  {v}" for v in report["violations"][:20]),
    ]
    return "\n".join(lines)
