"""Housekeeping the worker runs now and then: unpaid orders expire, and so do bundles past their validity;
the ledger's append-only accounts have their new transfers folded into their totals; time-partitioned
tables get their next months and lose their oldest (services/partition_upkeep).

`SWEEPS` is the one list of periodic sweeps; `run_sweeps` runs them in one worker process at a time,
the holder of a lease row in the database (works alike on SQLite and PostgreSQL), renewed each round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from topup.clock import now
from topup.db import ledger
from topup.db.models import BundleRecord, LineEvent, Order, Payment, SweepLease
from topup.domain.bundles import BundleStatus, expire
from topup.domain.errors import IllegalTransition
from topup.domain.orders import OrderStatus
from topup.metrics import books
from topup.ports import PaymentStatus
from topup.services import (
    autotopup_sweep,
    carrier_float,
    notifications,
    partition_upkeep,
    promotions,
    retail_upkeep,
    retention,
)
from topup.services.attempts import CANCEL_JOB
from topup.services.payments import enqueue
from topup.services.transitions import move
from topup.settings import CONFIG

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 5.0
SWEEP_LEASE_S = 30.0  # a holder that stops renewing is replaced after this long
SWEEP_LEASE = "sweeps"


def _expiry_notices() -> object:
    return notifications.expiring_soon(now())


def _stale_promotions() -> int:
    at = now()
    return promotions.release_stale(at - timedelta(seconds=CONFIG.payment_ttl_s), at)


def hold_sweep_lease(holder: str, lease_s: float = SWEEP_LEASE_S) -> bool:
    """Take or renew the sweep lease for `holder`; False while another holder's lease is still running."""
    at = now()
    until = at + timedelta(seconds=lease_s)
    if not SweepLease.objects.filter(name=SWEEP_LEASE).exists():
        try:
            with transaction.atomic():
                SweepLease.objects.create(name=SWEEP_LEASE, holder=holder, leased_until=until)
                return True
        except IntegrityError:
            pass  # another process created it first: compete for it below
    free = Q(holder=holder) | Q(leased_until__lt=at)
    return SweepLease.objects.filter(free, name=SWEEP_LEASE).update(holder=holder, leased_until=until) == 1


def run_sweeps(holder: str) -> bool:
    """Run every sweep if `holder` holds the sweep lease; one failing sweep does not stop the others."""
    if not hold_sweep_lease(holder):
        return False
    for name, sweep in SWEEPS:
        try:
            sweep()
        except Exception:
            log.exception("sweep %s failed", name)
    return True


def expire_unpaid_orders(limit: int = 500) -> int:
    """Move orders that waited for payment longer than TOPUP_PAYMENT_TTL_S to `expired`."""
    at = now()
    cutoff = at - timedelta(seconds=CONFIG.payment_ttl_s)
    ids = list(
        Order.objects.filter(status=OrderStatus.AWAITING_PAYMENT.value, created_at__lt=cutoff).values_list(
            "id", flat=True
        )[:limit]
    )
    expired = 0
    for order_id in ids:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(id=order_id)
            try:
                move(order, OrderStatus.EXPIRED, at=at, code="payment_timeout")
                expired += 1
                # Its open attempt is closed at the provider, so that nobody pays an expired order.
                for payment_id in Payment.objects.filter(
                    order_id=order_id, status=PaymentStatus.REQUIRES_ACTION.value, provider_ref__isnull=False
                ).values_list("id", flat=True):
                    enqueue(CANCEL_JOB, payment_id, at=at)
            except IllegalTransition:
                continue
    return expired


def expire_bundles(limit: int = 1000) -> int:
    """Close active bundles whose validity ended; what they still held is recorded, never silently lost."""
    at = now()
    with transaction.atomic():
        due = BundleRecord.objects.select_for_update().filter(
            status=BundleStatus.ACTIVE.value, expires_at__lte=at
        )[:limit]
        records = expire([row.to_domain() for row in due], at)
        for record in records:
            BundleRecord.objects.filter(id=record.bundle_id, status=BundleStatus.ACTIVE.value).update(
                status=BundleStatus.EXPIRED.value, expired_remaining_kb=record.remaining_kb
            )
        LineEvent.objects.bulk_create(
            LineEvent(
                line_id=r.bundle.line_id, kind="bundle_expired", state="expired", code=r.bundle_id,
                detail=f"{r.remaining_kb} kB left at expiry", at=r.expired_at,
            )
            for r in records
        )  # fmt: skip
    return len(records)


# Every periodic sweep, in order: (name for logs, function). New sweeps are added here, and only here.
SWEEPS: list[tuple[str, Callable[[], object]]] = [
    ("expire_unpaid_orders", expire_unpaid_orders),
    ("expire_bundles", expire_bundles),
    ("expiry_notices", _expiry_notices),
    ("retention_purge", lambda: retention.sweep(now())),  # at most every few minutes, see retention
    ("carrier_float", carrier_float.check_floats),  # at most every minute, see carrier_float
    ("retail_upkeep", retail_upkeep.sweep),  # shops: used nonces, PINs past their void window
    ("auto_topup", autotopup_sweep.sweep),  # switch on, open due runs, remind, check thresholds
    ("promotion_reservations", _stale_promotions),  # reservations whose order never came to be
    ("ledger_rollup", ledger.roll_up),  # append-only accounts' transfers folded into their totals
    ("ledger_gauge", books.publish),  # /metrics: the books' balance, at most every minute, see metrics.books
    ("partitions", partition_upkeep.sweep),  # hourly: months ahead made, old ones archived (PostgreSQL)
]
