"""An aggregator says a sale changed status: the order's delivery job runs now instead of after its backoff.

The callback's content is never believed: the worker asks the aggregator for the status of our reference,
as it would after a timeout. So a forged or replayed callback can at most make a poll happen sooner.
"""

from __future__ import annotations

from topup.clock import now
from topup.db.models import Job, JobKey


def hurry_delivery(order_id: str) -> bool:
    """Run the order's queued delivery job now; False when there is none (done, unknown or not ours)."""
    # Found by its key (job_key's primary key), then by id: `job` has no index on (kind, subject) any more.
    job_id = JobKey.objects.filter(kind="deliver", subject_id=order_id).values("job_id")
    woken = Job.objects.filter(id__in=job_id, status="queued", run_after__gt=now())
    return woken.update(run_after=now()) > 0
