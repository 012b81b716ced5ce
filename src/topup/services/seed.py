"""The Belgian demo: networks, plans and a demo admin API key, written idempotently.

Only what is missing is created: prices and plans changed by staff in the back office are kept.
Production has no demo: `topup migrate --seed-demo` only, and no demo admin key at all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from django.db import transaction

from topup.channels.api.auth import create_key, hash_key
from topup.db.models import ApiKey, CarrierProductRecord, NetworkRecord, PlanRecord
from topup.domain.bundles import BundleStart, TopupRule
from topup.domain.catalogue import BELGIAN_DEMO_NETWORKS, BELGIAN_DEMO_PLANS, PlanKind
from topup.domain.esim_catalogue import BUNDLE_POLICY, ESIM_NETWORK, ESIM_PLANS
from topup.services import catalogue
from topup.settings import CONFIG

# The demo DT One account (its simulator): DVS operator ids of the Belgian networks, and each demo plan's
# product slot (product id = operator id * 100 + slot; see topup.simulators.dtone.catalogue).
DTONE_DEMO_OPERATORS = {"proximus": 2101, "orange": 2102, "base": 2103, "telenet": 2104}
DTONE_DEMO_SLOTS = {
    **{f"credit-{euros}": slot for slot, euros in enumerate((5, 10, 15, 20, 25, 50), start=1)},
    "data-1d-1gb": 21,
    "data-7d-5gb": 22,
    "data-30d-20gb": 23,
    "data-30d-unlimited": 24,
}

DEMO_ADMIN_KEY_ID = "key_demoadmin"
_DEMO_KEY_PREFIX = f"tpk_{DEMO_ADMIN_KEY_ID.removeprefix('key_')}_"
DEMO_ADMIN_KEY_FILE = "demo-admin-key"  # in the data folder, readable by its owner only

# The direct gateway's product ids (as the carrier simulator's catalogues name them) of the demo's bundles.
_GATEWAY_PREFIXES: Final = {"proximus": "PX", "orange": "OR", "base": "BA", "telenet": "TN"}
_GATEWAY_BUNDLES: Final = {
    "data-1d-1gb": "DATA-1GB-1D",
    "data-7d-5gb": "DATA-5GB-7D",
    "data-30d-20gb": "DATA-20GB-30D",
    "data-30d-unlimited": "DATA-UNL-30D",
}


def demo_gateway_products() -> dict[str, str]:
    """plan id -> the direct gateway's product id, for every bundle plan of the demo's external networks."""
    products = {}
    for plan in BELGIAN_DEMO_PLANS:
        if plan.kind is PlanKind.BUNDLE:
            suffix = plan.id.removeprefix(f"{plan.network_id}-")
            products[plan.id] = f"{_GATEWAY_PREFIXES[plan.network_id]}-{_GATEWAY_BUNDLES[suffix]}"
    return products


def seed_demo() -> None:
    with transaction.atomic():
        for network in (*BELGIAN_DEMO_NETWORKS, ESIM_NETWORK):
            NetworkRecord.objects.get_or_create(
                id=network.id,
                defaults={
                    "name": network.name,
                    "kind": network.kind.value,
                    "commission_bp": network.commission_bp,
                    "currency": network.currency,
                },
            )
        for order, plan in enumerate((*BELGIAN_DEMO_PLANS, *ESIM_PLANS)):
            start, rule = BUNDLE_POLICY.get(plan.id, (BundleStart.ON_PURCHASE, TopupRule.STACK))
            PlanRecord.objects.get_or_create(
                id=plan.id,
                defaults={
                    "network_id": plan.network_id,
                    "kind": plan.kind.value,
                    "name": plan.name,
                    "code": plan.code,
                    "price_minor": plan.price.amount_minor,
                    "currency": plan.price.currency,
                    "data_mb": plan.data_mb,
                    "unlimited": plan.unlimited,
                    "validity_days": plan.validity_days,
                    "fair_use_mb": plan.fair_use_mb,
                    "bundle_start": start.value,
                    "topup_rule": rule.value,
                    "active": plan.active,
                    "sort_order": order,
                },
            )
        seed_carrier_products("gateway", demo_gateway_products())
        seed_carrier_products("dtone", _dtone_products())
    catalogue.clear_cache()


def seed_carrier_products(route: str, products: Mapping[str, str]) -> None:
    """Map plans to a carrier route's products where no mapping exists yet (staff's edits are kept)."""
    for plan_id, product_ref in products.items():
        CarrierProductRecord.objects.get_or_create(
            route=route, plan_id=plan_id, defaults={"product_ref": product_ref}
        )


def _dtone_products() -> dict[str, str]:
    """Which DT One product each demo plan is, so that any network can be routed to "dtone"."""
    plans = {
        f"{network}-{suffix}": str(operator_id * 100 + slot)
        for network, operator_id in DTONE_DEMO_OPERATORS.items()
        for suffix, slot in DTONE_DEMO_SLOTS.items()
    }
    return {
        plan_id: product
        for plan_id, product in plans.items()
        if PlanRecord.objects.filter(id=plan_id).exists()
    }


def demo_admin_key() -> str:
    """The demo's admin key: random, drawn once and kept in the data folder so that restarts keep it."""
    if CONFIG.is_production:
        raise RuntimeError("production has no demo admin key: make keys with `topup apikey create`")
    key = f"{_DEMO_KEY_PREFIX}{_demo_admin_secret()}"
    if ApiKey.objects.filter(id=DEMO_ADMIN_KEY_ID, secret_hash=hash_key(key)).exists():
        return key  # a second start writes nothing
    return create_key(["admin"], name="demo admin", secret=_demo_admin_secret(), key_id=DEMO_ADMIN_KEY_ID)


def _demo_admin_secret() -> str:
    path = CONFIG.data_dir / DEMO_ADMIN_KEY_FILE
    if path.exists() and not path.read_text(encoding="ascii").strip():
        path.unlink()  # emptied (a crash while writing it, or by hand): drawn again, and kept this time
    if not path.exists():
        CONFIG.data_dir.mkdir(parents=True, exist_ok=True)
        draft = _owner_only_draft(path, f"{_DEMO_KEY_PREFIX}{secrets.token_urlsafe(30)}")
        try:
            os.link(draft, path)  # atomic, and the first of two concurrent starts wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    kept = path.read_text(encoding="ascii").strip()
    if not kept.startswith(_DEMO_KEY_PREFIX):  # written before the file held the whole key: the secret only
        os.replace(_owner_only_draft(path, f"{_DEMO_KEY_PREFIX}{kept}"), path)
    return kept.removeprefix(_DEMO_KEY_PREFIX)


def _owner_only_draft(path: Path, key: str) -> Path:
    """A file beside `path` holding the whole key as the API takes it, readable by its owner only."""
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(f"{key}\n")
    return draft
