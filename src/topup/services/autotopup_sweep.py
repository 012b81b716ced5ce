"""Auto top-up's part of the worker: its periodic sweep and its job kinds, registered in one place each
(`maintenance.SWEEPS`, `worker.HANDLERS`)."""

from __future__ import annotations

from collections.abc import Callable

from topup.clock import now
from topup.services import autotopup, autotopup_runs, autotopup_threshold
from topup.services.delivery import JobResult


def sweep() -> int:
    """Switch on paid auto top-ups, open the runs that are due, remind, queue threshold checks."""
    at = now()
    changed = autotopup.settle_pending(at)
    changed += autotopup_runs.schedule_due(at)
    return changed + autotopup_threshold.schedule_checks(at)


HANDLERS: dict[str, Callable[[str, int], JobResult]] = {
    **autotopup.HANDLERS,
    **autotopup_runs.HANDLERS,
    **autotopup_threshold.HANDLERS,
}
