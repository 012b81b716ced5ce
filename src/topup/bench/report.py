"""Pure arithmetic of `topup bench`: per-order results, percentiles, the report dict and its text form.

Nothing here does I/O or reads a clock, so the numbers a run prints can be checked by unit tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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
