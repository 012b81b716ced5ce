"""What `topup doctor` found: one finding per check, printed one a line (or as JSON), and its exit status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final

OK: Final = "ok"
WARN: Final = "warn"
FAIL: Final = "FAIL"
EXIT_HEALTHY, EXIT_FAULTS = 0, 1  # argparse exits 2 on a usage error


@dataclass(frozen=True)
class Finding:
    area: str  # config | database | peers | jobs | ledger
    subject: str  # what was checked: "TOPUP_SECRET_KEY", "migrations", "SM-DP+ (ES2+)", ...
    status: str  # OK | WARN | FAIL
    detail: str  # what was found (never a secret's value)
    fix: str = ""  # what to do about it; empty when nothing needs doing

    def line(self) -> str:
        text = f"{self.status:<4}  {self.area}: {self.subject}: {self.detail}"
        return f"{text} -> fix: {self.fix}" if self.fix and self.status != OK else text


def exit_status(findings: Sequence[Finding]) -> int:
    """1 when anything failed (warnings alone pass), else 0."""
    return EXIT_FAULTS if any(f.status == FAIL for f in findings) else EXIT_HEALTHY


def summary(findings: Sequence[Finding]) -> str:
    counts = {status: sum(f.status == status for f in findings) for status in (OK, WARN, FAIL)}
    verdict = "something is wrong" if counts[FAIL] else "healthy"
    return f"doctor: {verdict} ({counts[OK]} ok, {counts[WARN]} warn, {counts[FAIL]} FAIL)"


def as_text(findings: Sequence[Finding]) -> str:
    return "\n".join([*(f.line() for f in findings), summary(findings)])


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps(
        {"ok": exit_status(findings) == EXIT_HEALTHY, "checks": [asdict(f) for f in findings]}, indent=2
    )
