"""The summary a chaos run prints: counts by outcome, faults injected, time, violations and the replay."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from topup.chaos.runner import Result

SHOWN_PER_RULE = 20
API = frozenset({"api_card", "api_esim", "unpaid"})


def _tally(items: Iterable[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(Counter(items).items())) or "none"


def summary(result: Result, command: str, kept: Path | None) -> str:
    run, t = result.run, result.run.timings
    outcomes = run.outcomes
    lines = [
        f"chaos run: {len(outcomes)} orders in {t.get('total_s', 0):.0f} s "
        f"(start {t.get('start_s', 0):.0f} s, drive {t.get('drive_s', 0):.0f} s, "
        f"settle {t.get('settle_s', 0):.0f} s)",
        f"  placed by     {_tally(o.plan.kind for o in outcomes)}",
        f"  refused       {_tally(o.answer for o in outcomes if not o.order_id and o.plan.kind in API)}",
        f"  final states  {_tally(o['status'] for o in result.snapshot['orders'])}",
        f"  faults        {_tally(run.faults.elements())}",
        f"  webhooks      {run.relay.sent} relayed, {run.relay.replayed} duplicated or replayed, "
        f"forged: {_tally(Counter(run.relay.forged).elements())}",
        f"  eSIM cancels  {_tally(o.cancel for o in outcomes if o.cancel)}",
        f"  self-restarts {_tally(run.restarted.elements())}",
        f"  jobs          {_tally(Counter(dict(result.snapshot['jobs'])).elements())}",
    ]
    if result.violations:
        by_rule: dict[str, list[str]] = defaultdict(list)
        for violation in result.violations:
            by_rule[violation.rule].append(f"{violation.order_id} {violation.detail}")
        lines.append(f"VIOLATIONS: {len(result.violations)}")
        for rule, found in sorted(by_rule.items()):
            lines.append(f"  {rule} ({len(found)}):")
            lines.extend(f"    {text}" for text in found[:SHOWN_PER_RULE])
            if len(found) > SHOWN_PER_RULE:
                lines.append(f"    ... and {len(found) - SHOWN_PER_RULE} more")
    else:
        lines.append("all invariants held")
    if kept is not None:
        lines.append(f"data kept in {kept}")
    lines.append(f"replay: {command}")
    return "\n".join(lines)
