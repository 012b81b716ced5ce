"""`topup doctor`'s look at what the database holds: the job queue (backlog, dead jobs), the ledger's trial
balance, and on PostgreSQL the upkeep of the time-partitioned tables. Each check runs `within` the doctor's
--timeout: on PostgreSQL its queries are one transaction under `statement_timeout`, so a huge or locked
table is a failure named in time, not a doctor that hangs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Min

from topup.clock import now
from topup.db import partitions
from topup.db.ledger import trial_balance
from topup.db.models import Job
from topup.doctor_report import FAIL, OK, WARN, Finding

BACKLOG_WARN_JOBS = 1000  # due jobs of one kind beyond which the worker is not keeping up
BACKLOG_WARN_AGE_S = 300  # or the oldest due job has waited this long


def within(timeout_s: float, check: Callable[[], list[Finding]], area: str) -> list[Finding]:
    """`check`'s findings, its queries cut off after `timeout_s` (PostgreSQL: `SET LOCAL statement_timeout`
    in a transaction of its own); a query cut off, or any database error, is a failure of `area`."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    limit_ms = str(max(1, round(timeout_s * 1000)))
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [limit_ms])
            return check()
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "statement timeout" in first_line:
            return [Finding(
                area, "query", FAIL, f"no answer within {timeout_s:g}s ({first_line})",
                "look for a long transaction or lock (pg_stat_activity), or give more time with --timeout",
            )]  # fmt: skip
        return [
            Finding(
                area, "query", FAIL, f"failed: {first_line}", "is the database migrated (`topup migrate`)?"
            )
        ]


def check_jobs() -> list[Finding]:
    """Due jobs per kind (a warning past the thresholds) and dead jobs (a failure)."""
    moment = now()
    due = list(
        Job.objects.filter(status="queued", run_after__lte=moment)
        .values_list("kind").annotate(n=Count("id"), oldest=Min("run_after")).order_by("kind")
    )  # fmt: skip
    dead = list(
        Job.objects.filter(status="dead").values_list("kind").annotate(n=Count("id")).order_by("kind")
    )
    found = [_backlog(due, moment - timedelta(seconds=BACKLOG_WARN_AGE_S))]
    if dead:
        kinds = ", ".join(f"{kind} {n}" for kind, n in dead)
        found.append(Finding(
            "jobs", "dead", FAIL, f"{sum(n for _, n in dead)} dead: {kinds}",
            "see why with `topup jobs list --dead`, fix the cause, then `topup jobs requeue --kind "
            f"{dead[0][0]}` (or `--all-dead`)",
        ))  # fmt: skip
    else:
        found.append(Finding("jobs", "dead", OK, "none"))
    return found


def _backlog(due: Sequence[tuple[str, int, datetime]], stale_before: datetime) -> Finding:
    if not due:
        return Finding("jobs", "backlog", OK, "no job waiting")
    text = ", ".join(f"{kind} {n}" for kind, n, _ in due)
    slow = [kind for kind, n, oldest in due if n > BACKLOG_WARN_JOBS or oldest < stale_before]
    if slow:
        return Finding(
            "jobs", "backlog", WARN, f"due: {text}; behind: {', '.join(slow)}",
            "is `topup worker` running (`topup serve` runs one)? add worker threads (TOPUP_WORKER_THREADS)",
        )  # fmt: skip
    return Finding("jobs", "backlog", OK, f"due: {text}")


def check_ledger() -> list[Finding]:
    """The trial balance: per currency, debits = credits = posted transfers."""
    books = trial_balance()
    wrong = [t for t in books if not t.balanced]
    if not books:
        return [Finding("ledger", "trial balance", OK, "no postings yet")]
    if not wrong:
        return [Finding("ledger", "trial balance", OK, f"balanced in {', '.join(t.currency for t in books)}")]
    return [_unbalanced(t.currency, t.debits_minor, t.credits_minor, t.transfers_minor) for t in wrong]


def _unbalanced(currency: str, debits: int, credits: int, transfers: int) -> Finding:
    return Finding(
        "ledger", f"trial balance {currency}", FAIL,
        f"unbalanced: debits {debits}, credits {credits}, posted transfers {transfers} (minor units)",
        "the books were changed outside the ledger service: find the edited row, put it back, "
        "and correct with a reversing transfer",
    )  # fmt: skip


def check_partitions() -> list[Finding]:
    """PostgreSQL: next month's partition made for each partitioned table, and no row in a default one."""
    if not partitions.enabled():
        return []
    found = partitions.status()
    attached = {info.name for info in found if info.state == "attached"}
    next_month = partitions.month_start(now(), 1)
    missing = [
        spec.table for spec in partitions.PARTITIONED
        if partitions.partition_name(spec.table, next_month) not in attached
    ]  # fmt: skip
    spilled = [info.name for info in found if info.state == "default" and info.rows_estimate > 0]
    if not missing and not spilled:
        return [Finding("database", "partitions", OK, f"made through {next_month:%Y-%m}")]
    detail = "; ".join(
        [f"no {next_month:%Y-%m} partition for {', '.join(missing)}"] * bool(missing)
        + [f"rows in default partition {', '.join(spilled)}"] * bool(spilled)
    )
    return [Finding(
        "database", "partitions", WARN, detail,
        "run `topup partitions upkeep` (the worker does it: is `topup worker` running?)",
    )]  # fmt: skip
