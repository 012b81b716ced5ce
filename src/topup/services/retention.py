"""Records kept only for a while, purged after `TOPUP_RETENTION_<NAME>_DAYS` (defaults in settings).

One-time code challenges, voucher redemption failure counters, webhook payloads (the inbox row stays so
that a replayed event is still recognised), finished jobs, expired bearer tokens, stored idempotent
answers, expired web sessions and old windows of the rate limits. Runs in the worker's periodic sweep
and as `topup privacy purge`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.contrib.sessions.models import Session
from django.db.models import Q

from topup.db.models import AccessToken, IdempotencyRecord, InboxEvent, OtpChallenge, RedeemAttempts
from topup.services import jobs, limits
from topup.settings import CONFIG

log = logging.getLogger(__name__)
SWEEP_EVERY_S = 300.0  # the worker sweeps every few seconds; purging that often would only cost scans
_last_sweep = {"at": -SWEEP_EVERY_S}


def _before(name: str, at: datetime) -> datetime:
    return at - timedelta(days=CONFIG.retention_days[name])


def purge(at: datetime) -> dict[str, int]:
    """Delete (or empty) what is past its retention at `at`; rows touched per kind."""
    old_attempts = Q(last_failure_at__lt=_before("redeem_attempts", at)) | Q(last_failure_at__isnull=True)
    not_locked = Q(locked_until__isnull=True) | Q(locked_until__lt=at)
    counts = {
        "otp": OtpChallenge.objects.filter(created_at__lt=_before("otp", at)).delete()[0],
        "redeem_attempts": RedeemAttempts.objects.filter(old_attempts & not_locked).delete()[0],
        "inbox_payloads": InboxEvent.objects.filter(
            processed_at__isnull=False, received_at__lt=_before("inbox_payloads", at), payload__isnull=False
        ).update(payload=None),
        "jobs": jobs.purge_finished(_before("jobs", at)),  # PostgreSQL: whole months (db/job_months)
        "access_tokens": AccessToken.objects.filter(expires_at__lt=_before("access_tokens", at)).delete()[0],
        "idempotency": IdempotencyRecord.objects.filter(created_at__lt=_before("idempotency", at)).delete()[
            0
        ],
        "sessions": Session.objects.filter(expire_date__lt=at).delete()[0],
        "rate_counters": limits.purge(_before("rate_counters", at)),
    }
    if any(counts.values()):
        log.info("retention purge: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return counts


def sweep(at: datetime) -> dict[str, int] | None:
    """`purge(at)` at most every SWEEP_EVERY_S in this process (called from the worker's periodic sweep)."""
    if time.monotonic() - _last_sweep["at"] < SWEEP_EVERY_S:
        return None
    _last_sweep["at"] = time.monotonic()
    return purge(at)
