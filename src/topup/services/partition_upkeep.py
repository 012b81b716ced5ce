"""The worker's sweep over the time-partitioned tables (PostgreSQL; nothing on SQLite): months made ahead,
months past TOPUP_PARTITION_RETENTION_MONTHS detached and archived (the rule: topup.db.partitions), months of
jobs all finished before TOPUP_RETENTION_JOBS_DAYS dropped with their keys (topup.db.job_months)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from topup.clock import now
from topup.db import job_months, partitions
from topup.settings import CONFIG

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 3600.0  # at most once an hour per process: a month changes slowly
MONTHS_AHEAD = 3
_last_run: list[float] = []


def upkeep(at: datetime) -> dict[str, list[str]]:
    """Make the months ahead (and the default partitions), then detach the old ones and drop the finished
    months of jobs; idempotent."""
    made = partitions.ensure_months(at, MONTHS_AHEAD)
    detached = partitions.detach_old(at, CONFIG.partition_retention_months)
    dropped = job_months.drop_finished(at, CONFIG.retention_days["jobs"])
    if made or detached or dropped:
        log.info("partitions made %s, detached to archive %s, dropped %s", made, detached, dropped)
    return {"made": made, "detached": detached, "dropped": dropped}


def sweep(*, force: bool = False) -> dict[str, list[str]] | None:
    """`upkeep` unless it ran in this process less than CHECK_INTERVAL_S ago (a failure is tried again at
    the next sweep); None when skipped."""
    if not partitions.enabled():
        return None
    if not force and _last_run and time.monotonic() - _last_run[0] < CHECK_INTERVAL_S:
        return None
    done = upkeep(now())
    _last_run[:] = [time.monotonic()]
    return done
