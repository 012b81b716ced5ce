"""Threshold auto top-ups: every TOPUP_AUTOTOPUP_CHECK_S, look at the line; credit below the amount, or the
plan's bundle below 10 % or ending within a day, opens a run (autotopup_runs) for that event.

Hosted lines are read from our own rows; external numbers from the carrier (services/balances: the line's
credit and the bundles it reports). The event's key is its period: credit seen low on a Brussels day
(`credit@2026-12-04`: at most one a day, the monthly cap bounds the rest), or the bundle being renewed
(`bundle:<id>`: each bundle is renewed once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from topup.clock import BRUSSELS, now
from topup.db.models import AutoTopup, BundleRecord, Order
from topup.domain import autotopup as rules
from topup.domain.catalogue import PlanKind
from topup.domain.errors import DomainError
from topup.ports import PortUnavailable
from topup.services import balances, carrier_products, catalogue, jobs, peers
from topup.services.autotopup_runs import open_run
from topup.services.delivery import JobResult
from topup.settings import CONFIG

log = logging.getLogger(__name__)

CHECK_JOB = "auto_topup_check"


def schedule_checks(at: datetime) -> int:
    """The sweep: a check job for every threshold auto top-up whose check is due."""
    queued = 0
    due = AutoTopup.objects.filter(
        status=rules.Status.ACTIVE.value, trigger=rules.Trigger.THRESHOLD.value, next_run_at__lte=at
    )[:500]
    for found in due:
        with transaction.atomic():
            if AutoTopup.objects.filter(id=found.id, next_run_at=found.next_run_at).update(
                next_run_at=at + timedelta(seconds=CONFIG.autotopup_check_s), updated_at=at
            ):
                subject = f"{found.id}@{at:%Y%m%d%H%M%S%f}"
                queued += jobs.add_one(CHECK_JOB, subject, at=at, skip_duplicate=True)
    return queued


def check(subject_id: str, _attempt: int) -> JobResult:
    """Look at the line once; open the run of the event it shows, if any."""
    found = AutoTopup.objects.filter(id=subject_id.partition("@")[0]).first()
    if found is None or found.status != rules.Status.ACTIVE:
        return JobResult(done=True, note="not active")
    at = now()
    try:
        event = event_key(found, at)
    except PortUnavailable as exc:
        return JobResult(done=False, retry_in_s=60.0, note=f"balance unavailable: {exc}")
    except DomainError as exc:  # the carrier does not share this line's balance: nothing to go by
        return JobResult(done=True, note=f"no balance: {exc.code}")
    if event is None:
        return JobResult(done=True, note="above the threshold")
    opened = open_run(found, event, at)
    return JobResult(done=True, note=f"run {opened.id}" if opened else f"{event} already run")


def event_key(found: AutoTopup, at: datetime) -> str | None:
    """The threshold event the line is in now, or None."""
    plan, _network = catalogue.plan_and_network(found.plan_id)
    origin = Order.objects.select_related("line").get(id=found.origin_id)
    line = origin.line
    day = at.astimezone(BRUSSELS).date()
    if plan.kind is PlanKind.CREDIT:
        if line is not None:
            credit_minor = line.credit_minor
        else:
            credit_minor = balances.check_balance(origin.msisdn).credit.amount_minor
        return f"credit@{day.isoformat()}" if rules.credit_low(credit_minor, found.threshold_minor) else None
    if line is not None:
        active = BundleRecord.objects.filter(line=line, plan_id=plan.id, status="active")
        bundle = active.order_by("-expires_at").first()
        if bundle is None:
            return None
        left_kb = max((bundle.data_kb or 0) - bundle.used_kb, 0)
        low = rules.bundle_needs_renewal(left_kb, bundle.data_kb, bundle.expires_at, at)
        return f"bundle:{bundle.id}" if low else None
    return _carrier_bundle_event(origin.msisdn, plan.id, plan.network_id, at)


def _carrier_bundle_event(msisdn: str, plan_id: str, network_id: str, at: datetime) -> str | None:
    """An external line's bundle of this plan as its carrier reports it (the carrier's products are mapped
    to our plans by `carrier_products`), when it needs renewing."""
    found = balances.check_balance(msisdn)
    plans = carrier_products.plans_by_product(peers.current().carrier_route(network_id))
    for bundle in found.bundles:
        if plans.get(bundle.product_ref, ("", ""))[0] != plan_id:
            continue
        expires = datetime.fromisoformat(bundle.expires_at) if bundle.expires_at else None
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=BRUSSELS)
        total_kb = bundle.data_total_mb * 1024 if bundle.data_total_mb else None
        left_kb = (bundle.data_left_mb or 0) * 1024
        if rules.bundle_needs_renewal(left_kb, total_kb, expires, at):
            return f"bundle:{bundle.product_ref}@{bundle.expires_at or ''}"
    return None


HANDLERS = {CHECK_JOB: check}
