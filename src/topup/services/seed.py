"""The Belgian demo: networks, plans and a demo admin API key, written idempotently.

Only what is missing is created: prices and plans changed by staff in the back office are kept.
Production has no demo: `topup migrate --seed-demo` only, and no demo admin key at all.
"""

from __future__ import annotations

import os
import secrets

from django.db import transaction

from topup.channels.api.auth import create_key
from topup.db.models import CarrierProductRecord, NetworkRecord, PlanRecord
from topup.domain.bundles import BundleStart, TopupRule
from topup.domain.catalogue import BELGIAN_DEMO_NETWORKS, BELGIAN_DEMO_PLANS
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
DEMO_ADMIN_KEY_FILE = "demo-admin-key"  # in the data folder, readable by its owner only


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
        _seed_dtone_products()
    catalogue.clear_cache()


def _seed_dtone_products() -> None:
    """Which DT One product each demo plan is, so that any network can be routed to "dtone"."""
    for network, operator_id in DTONE_DEMO_OPERATORS.items():
        for suffix, slot in DTONE_DEMO_SLOTS.items():
            plan_id = f"{network}-{suffix}"
            if PlanRecord.objects.filter(id=plan_id).exists():
                CarrierProductRecord.objects.get_or_create(
                    route="dtone", plan_id=plan_id, defaults={"product_ref": str(operator_id * 100 + slot)}
                )


def demo_admin_key() -> str:
    """The demo's admin key: random, drawn once and kept in the data folder so that restarts keep it."""
    if CONFIG.is_production:
        raise RuntimeError("production has no demo admin key: make keys with `topup apikey create`")
    return create_key(["admin"], name="demo admin", secret=_demo_admin_secret(), key_id=DEMO_ADMIN_KEY_ID)


def _demo_admin_secret() -> str:
    path = CONFIG.data_dir / DEMO_ADMIN_KEY_FILE
    if not path.exists():
        CONFIG.data_dir.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(30) + "\n")
        try:
            os.link(draft, path)  # atomic, and the first of two concurrent starts wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()
