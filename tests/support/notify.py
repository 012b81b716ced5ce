"""Running one `notify` job outside the worker, for tests: sent as by the worker
(services/notification_sends), its outcome recorded at once in a transaction of its own (the worker records
it with the job's marking instead)."""

from __future__ import annotations

from django.db import transaction

from topup.services import notification_sends
from topup.services.delivery import JobResult


def send_one(subject_id: str, attempt: int, *, abandoned: bool = False) -> JobResult:
    result = notification_sends.send_job(subject_id, attempt, abandoned=abandoned)
    if result.record is not None:
        with transaction.atomic():
            result.record()
    return result
