"""The Belgian demo: networks, plans and a demo admin API key, written idempotently.

Only what is missing is created: prices and plans changed by staff in the back office are kept.
"""

from __future__ import annotations

import hashlib
import hmac

from django.db import transaction

from topup.channels.api.auth import create_key
from topup.db.models import NetworkRecord, PlanRecord
from topup.domain.bundles import BundleStart, TopupRule
from topup.domain.catalogue import BELGIAN_DEMO_NETWORKS, BELGIAN_DEMO_PLANS
from topup.domain.esim_catalogue import BUNDLE_POLICY, ESIM_NETWORK, ESIM_PLANS
from topup.services import catalogue
from topup.settings import CONFIG

DEMO_ADMIN_KEY_ID = "key_demoadmin"


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
    catalogue.clear_cache()


def demo_admin_key() -> str:
    """A stable admin key for the demo, derived from the secret key so that restarts keep it."""
    secret = hmac.new(CONFIG.secret_key.encode(), b"demo-admin-key", hashlib.sha256).hexdigest()[:40]
    return create_key(["admin"], name="demo admin", secret=secret, key_id=DEMO_ADMIN_KEY_ID)
