"""Pure arithmetic of `topup bench`: per-order results, percentiles, the report dict and its text form.

Nothing here does I/O or reads a clock, so the numbers a run prints can be checked by unit tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from topup.bench.cpu import format_cpu

STEPS = ("create", "approve", "paid", "delivered", "end_to_end")
STEP_MEANINGS = {
    "create": "POST /orders until 201",
    "approve": "POST checkout approve until answered",
    "paid": "approve sent until status paid (or later) seen",
    "delivered": "approve sent until status delivered seen",
    "end_to_end": "order create sent until status delivered seen",
}
PAID_OR_LATER = frozenset({"paid", "delivering", "delivered", "delivery_failed", "refunded"})
TERMINAL = frozenset({"delivered", "refunded", "expired", "cancelled"})


@dataclass(slots=True)
class OrderResult:
    """What one bench order did; times are perf_counter seconds, latencies milliseconds."""

    index: int
    msisdn: str
    order_id: str | None = None
    checkout_url: str | None = None
    order_token: str = ""  # the order's secret, sent as X-Order-Token to read it
    status: str | None = None  # last order status seen
    outcome: str = "not_started"  # a terminal status, or declined | timeout | error | not_started
    started_at: float | None = None
    finished_at: float | None = None  # when the terminal status was seen
    create_ms: float | None = None
    approve_ms: float | None = None
    paid_ms: float | None = None
    delivered_ms: float | None = None
    end_to_end_ms: float | None = None

    def step_ms(self, step: str) -> float | None:
        value: float | None = getattr(self, f"{step}_ms")
        return value


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of the values; None when there are none."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def step_summary(results: Sequence[OrderResult]) -> dict[str, dict[str, float | int | None]]:
    """p50/p99 (ms) and sample count of every step, over the orders that completed that step."""
    summary: dict[str, dict[str, float | int | None]] = {}
    for step in STEPS:
        samples = [ms for r in results if (ms := r.step_ms(step)) is not None]
        summary[step] = {
            "p50_ms": _rounded(percentile(samples, 50)),
            "p99_ms": _rounded(percentile(samples, 99)),
            "count": len(samples),
        }
    return summary


def wall_seconds(results: Sequence[OrderResult], run_end: float) -> float:
    """From the first request to the last delivery seen (to `run_end` if nothing was delivered)."""
    starts = [r.started_at for r in results if r.started_at is not None]
    if not starts:
        return 0.0
    deliveries = [r.finished_at for r in results if r.outcome == "delivered" and r.finished_at is not None]
    return max((max(deliveries) if deliveries else run_end) - min(starts), 0.0)


def outcome_counts(results: Sequence[OrderResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return dict(sorted(counts.items()))


def build_report(
    results: Sequence[OrderResult],
    *,
    run_end: float,
    errors: Mapping[str, int],
    ledger_balanced: bool | None,
    violations: Sequence[str],
    notes: Sequence[str] = (),
    audited: Mapping[str, int] | None = None,
    settings: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The one JSON-able report of a run; `p50_ms`/`p99_ms` are end to end over delivered orders."""
    outcomes = outcome_counts(results)
    delivered, refunded = outcomes.get("delivered", 0), outcomes.get("refunded", 0)
    timeouts, not_started = outcomes.get("timeout", 0), outcomes.get("not_started", 0)
    wall_s = wall_seconds(results, run_end)
    steps = step_summary(results)
    return {
        "orders": len(results),
        "delivered": delivered,
        "refunded": refunded,
        "timeouts": timeouts,  # started but not finished by --timeout-s
        "not_started": not_started,  # never sent: the deadline came first
        "failed": len(results) - delivered - refunded - timeouts - not_started,
        "outcomes": outcomes,
        "wall_s": round(wall_s, 3),
        "topups_per_s": round(delivered / wall_s, 3) if wall_s > 0 else 0.0,
        "p50_ms": steps["end_to_end"]["p50_ms"],
        "p99_ms": steps["end_to_end"]["p99_ms"],
        "steps": steps,
        "errors": dict(sorted(errors.items())),
        "ledger_balanced": ledger_balanced,
        "duplicates": len(violations),
        "violations": list(violations[:50]),
        "audited": dict(audited or {}),
        "notes": list(notes),
        "settings": dict(settings or {}),
    }


def _ms(value: object) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_report(report: Mapping[str, object]) -> str:
    """The human-readable form of `build_report`'s dict."""
    lines = [
        f"orders {report['orders']}: delivered {report['delivered']}, refunded {report['refunded']}, "
        f"timeouts {report['timeouts']}, not started {report['not_started']}, failed {report['failed']}",
        f"outcomes {report['outcomes']}",
        f"wall {report['wall_s']} s, {report['topups_per_s']} top-ups/s",
        f"{'step':<11} {'p50 ms':>9} {'p99 ms':>9} {'n':>6}  meaning",
    ]
    steps = report["steps"]
    assert isinstance(steps, Mapping)
    for step in STEPS:
        s = steps[step]
        lines.append(
            f"{step:<11} {_ms(s['p50_ms']):>9} {_ms(s['p99_ms']):>9} {s['count']:>6}  {STEP_MEANINGS[step]}"
        )
    ledger = report["ledger_balanced"]
    lines.append(f"ledger balanced: {'not checked' if ledger is None else ledger}")
    lines.append(f"duplicates: {report['duplicates']}  (evidence: {report['audited']})")
    violations = report["violations"]
    assert isinstance(violations, list)
    lines.extend(f"  ! {v}" for v in violations)
    lines.append(f"errors: {report['errors'] or 'none'}")
    notes = report["notes"]
    assert isinstance(notes, list)
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines)


# ------------------------------------------------------------------ usage rating (`topup bench --usage`)

USAGE_MIN_BYTES = 10_000
USAGE_MAX_BYTES = 5_000_000
USAGE_MAX_DURATION_S = 600
USAGE_SPREAD_S = 3600  # records start within an hour after the lines' bundles began


def batch_sizes(records: int, batch: int) -> list[int]:
    """The sizes of the batches that carry `records` records, `batch` at most each (the last may be short)."""
    if records < 0 or batch < 1:
        raise ValueError("records must be >= 0 and batch >= 1")
    full, rest = divmod(records, batch)
    return [batch] * full + ([rest] if rest else [])


def partition_lines(lines: Sequence[str], tasks: int) -> list[list[str]]:
    """One non-empty group of lines per task: disjoint (round robin) while there are at least as many lines
    as tasks, else task t shares line t mod L with the other tasks of that remainder."""
    if not lines or tasks < 1:
        raise ValueError("need at least one line and one task")
    if tasks <= len(lines):
        return [list(lines[t::tasks]) for t in range(tasks)]
    return [[lines[t % len(lines)]] for t in range(tasks)]


def usage_record(
    record_id: str, iccid: str, *, size: int, start: datetime, duration_s: float
) -> dict[str, object]:
    """One `POST /usage` record: `end` is `start` plus the duration; instants are ISO-8601 with offset."""
    if start.utcoffset() is None:
        raise ValueError("start must carry an offset")
    end = start + timedelta(seconds=duration_s)
    return {
        "id": record_id,
        "iccid": iccid,
        "bytes": size,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def random_usage_record(
    rng: random.Random, record_id: str, lines: Sequence[str], base: datetime
) -> dict[str, object]:
    """A record on one of `lines`: 10 kB..5 MB, starting within an hour after `base`, lasting 1..600 s."""
    return usage_record(
        record_id,
        rng.choice(lines),
        size=rng.randint(USAGE_MIN_BYTES, USAGE_MAX_BYTES),
        start=base + timedelta(seconds=rng.uniform(0, USAGE_SPREAD_S)),
        duration_s=rng.uniform(1, USAGE_MAX_DURATION_S),
    )


def latest_delivery(orders: Iterable[Mapping[str, object]]) -> datetime | None:
    """The latest `delivered` instant in the orders' histories (server clock), None when there is none."""
    found: list[datetime] = []
    for order in orders:
        history = order.get("history")
        for entry in history if isinstance(history, list) else []:
            at = entry.get("at") if isinstance(entry, Mapping) else None
            if isinstance(entry, Mapping) and entry.get("status") == "delivered" and isinstance(at, str):
                try:
                    parsed = datetime.fromisoformat(at)
                except ValueError:
                    continue
                if parsed.utcoffset() is not None:
                    found.append(parsed)
    return max(found, default=None)


def answered_all_duplicates(answer: Mapping[str, object], sent: int) -> bool:
    """Whether a resent batch of `sent` records was answered: none accepted, every record a duplicate."""
    results = answer.get("results")
    return (
        sent > 0
        and answer.get("accepted") == 0
        and answer.get("duplicates") == sent
        and isinstance(results, list)
        and len(results) == sent
        and all(isinstance(r, Mapping) and r.get("status") == "duplicate" for r in results)
    )


def add_counts(totals: dict[str, int], answer: Mapping[str, object], names: Iterable[str]) -> None:
    """Add the answer's integer counts (accepted, duplicates, refused_kb) to the totals; others skipped."""
    for name in names:
        value = answer.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            totals[name] = totals.get(name, 0) + value


def build_usage_report(
    *,
    records: int,
    batch: int,
    concurrency: int,
    lines: int,
    batch_ms: Sequence[float],
    batches: int,
    wall_s: float,
    totals: Mapping[str, int],
    duplicates_ok: bool,
    recheck: Mapping[str, object] | None = None,
    errors: Mapping[str, int] | None = None,
    notes: Sequence[str] = (),
    settings: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The JSON-able report of a usage run: `records_per_s` is accepted records over the posting wall time,
    `batch_p50_ms`/`batch_p99_ms` are over the batches answered 200."""
    accepted = totals.get("accepted", 0)
    return {
        "mode": "usage",
        "records": records,
        "batch": batch,
        "concurrency": concurrency,
        "lines": lines,
        "batches": batches,
        "batches_ok": len(batch_ms),
        "wall_s": round(wall_s, 3),
        "records_per_s": round(accepted / wall_s, 1) if wall_s > 0 else 0.0,
        "batch_p50_ms": _rounded(percentile(batch_ms, 50)),
        "batch_p99_ms": _rounded(percentile(batch_ms, 99)),
        "accepted": accepted,
        "duplicates": totals.get("duplicates", 0),
        "refused_kb": totals.get("refused_kb", 0),
        "duplicates_ok": duplicates_ok,
        "recheck": dict(recheck or {}),
        "errors": dict(sorted((errors or {}).items())),
        "notes": list(notes),
        "settings": dict(settings or {}),
    }


def format_usage_report(report: Mapping[str, object]) -> str:
    """The human-readable form of `build_usage_report`'s dict."""
    lines = [
        f"usage records {report['records']} in {report['batches']} batches of {report['batch']} "
        f"({report['batches_ok']} answered 200), {report['concurrency']} tasks over {report['lines']} lines",
        f"wall {report['wall_s']} s, {report['records_per_s']} records/s (accepted / posting wall time)",
        f"batch p50 {_ms(report['batch_p50_ms'])} ms, p99 {_ms(report['batch_p99_ms'])} ms",
        f"server: accepted {report['accepted']}, duplicates {report['duplicates']}, "
        f"refused_kb {report['refused_kb']}",
        f"resent batch all duplicates: {report['duplicates_ok']}  {report['recheck'] or ''}".rstrip(),
        f"errors: {report['errors'] or 'none'}",
    ]
    notes = report["notes"]
    assert isinstance(notes, list)
    lines.extend(f"note: {n}" for n in notes)
    cpu = report.get("cpu")
    if isinstance(cpu, Mapping):
        lines.extend(format_cpu(cpu))
    return "\n".join(lines)
