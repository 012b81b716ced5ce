"""Staff's handle on the job table: list jobs, and give dead jobs another round (`topup jobs ...`)."""

from __future__ import annotations

import logging

from django.db.models import QuerySet

from topup.clock import now
from topup.db.models import Job

log = logging.getLogger(__name__)

DEAD = "dead"


def requeue(*, job_id: str | None = None, kind: str | None = None, all_dead: bool = False) -> int:
    """Queue dead jobs again with their attempts reset (one by id, all of a kind, or all); returns how many.

    A requeued delivery whose order is past its deadline goes straight to cancel-then-refund."""
    if not (job_id or kind or all_dead):
        return 0
    dead: QuerySet[Job] = Job.objects.filter(status=DEAD)
    if job_id:
        dead = dead.filter(id=job_id)
    if kind:
        dead = dead.filter(kind=kind)
    count = dead.update(
        status="queued", attempts=0, run_after=now(), locked_until=None, lease_token="", finished_at=None
    )
    log.warning("requeued %d dead job(s)", count, extra={"job_id": job_id or "", "kind": kind or ""})
    return count


def listing(*, dead_only: bool = False, limit: int = 200) -> list[dict[str, object]]:
    """The latest jobs (or only the dead ones), newest first, as rows for the command line."""
    query: QuerySet[Job] = Job.objects.all()
    if dead_only:
        query = query.filter(status=DEAD)
    fields = ("id", "kind", "subject_id", "status", "attempts", "run_after", "last_error")
    return list(query.order_by("-created_at").values(*fields)[:limit])
