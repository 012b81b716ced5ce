"""Catalogue reads: networks, plans, and the network guess for a number."""

from __future__ import annotations

import time
from dataclasses import dataclass

from topup.db import hot_sql
from topup.db.models import NetworkRecord, PlanRecord
from topup.db.router import replica_reads
from topup.domain.catalogue import Network, Plan
from topup.domain.errors import NotFound
from topup.domain.identifiers import parse_belgian_mobile, range_holder

_CACHE_TTL_S = 5.0
_cache: dict[str, tuple[float, object]] = {}


def _cached_catalogue() -> tuple[dict[str, Network], dict[str, Plan]]:
    """Networks and plans, read at most every few seconds per process (they change rarely)."""
    hit = _cache.get("catalogue")
    if hit and time.monotonic() - hit[0] < _CACHE_TTL_S:
        return hit[1]  # type: ignore[return-value]
    with replica_reads():  # already up to _CACHE_TTL_S old: a replica's lag adds nothing that matters
        networks = {r.id: r.to_domain() for r in NetworkRecord.objects.filter(active=True)}
        plans = {r.id: r.to_domain() for r in PlanRecord.objects.filter(active=True, network_id__in=networks)}
    value = (networks, plans)
    _cache["catalogue"] = (time.monotonic(), value)
    return value


def clear_cache() -> None:
    _cache.clear()


def networks() -> list[Network]:
    return sorted(_cached_catalogue()[0].values(), key=lambda n: n.name)


def plans(network_id: str | None = None) -> list[Plan]:
    all_plans = _cached_catalogue()[1].values()
    return [p for p in all_plans if network_id is None or p.network_id == network_id]


def network_by_id(network_id: str) -> Network:
    network = _cached_catalogue()[0].get(network_id)
    if network is None:
        raise NotFound(f"no network {network_id!r}", code="network_unknown")
    return network


def plan_and_network(plan_id: str) -> tuple[Plan, Network]:
    network_by_id, plan_by_id = _cached_catalogue()
    plan = plan_by_id.get(plan_id)
    if plan is None:
        raise NotFound(f"no plan {plan_id!r}", code="plan_not_found", field="plan_id")
    return plan, network_by_id[plan.network_id]


def plan_name(plan_id: str) -> str:
    """A plan's name for receipts and notices, also of a plan no longer on sale (orders in flight)."""
    plan = _cached_catalogue()[1].get(plan_id)
    if plan is not None:
        return plan.name
    return PlanRecord.objects.filter(id=plan_id).values_list("name", flat=True).first() or plan_id


def plan_kind(plan_id: str) -> str | None:
    """A plan's kind (credit or bundle), also of a plan no longer on sale; None for no such plan."""
    plan = _cached_catalogue()[1].get(plan_id)
    if plan is not None:
        return plan.kind.value
    return PlanRecord.objects.filter(id=plan_id).values_list("kind", flat=True).first()


@dataclass(frozen=True)
class Lookup:
    msisdn: str
    network: str | None
    source: str  # history (we delivered to it before) | range (the number block's first holder) | none


def lookup(text: str) -> Lookup:
    """Guess a number's network: our last delivery to it wins over the range holder (numbers are portable)."""
    e164 = parse_belgian_mobile(text)
    delivered = hot_sql.last_delivered_network(e164)
    if delivered is not None:
        return Lookup(e164, delivered, "history")
    guess = range_holder(e164)
    if guess and guess in _cached_catalogue()[0]:
        return Lookup(e164, guess, "range")
    return Lookup(e164, None, "none")
