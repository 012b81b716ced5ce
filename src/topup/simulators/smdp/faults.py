"""Fault injection for the SM-DP+ simulator: latency, transient unavailability, lost answers, download pace.

    latency_ms     added before every ES2+ answer
    error_rate     share of ES2+ calls answered HTTP 503 at once, nothing applied ("SM-DP+ unavailable")
    lose_next      the next N ES2+ calls are applied, then their connection is closed without an answer
    step_delay_ms  pause between the download steps of a phone (eligibility, download, installation)

Draws come from one seeded `random.Random`, in arrival order. `POST /admin/faults` changes any of them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace


class FaultError(ValueError):
    """A fault setting that is out of range or of the wrong type."""


@dataclass(frozen=True, slots=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    lose_next: int = 0
    step_delay_ms: int = 50

    def __post_init__(self) -> None:
        if min(self.latency_ms, self.lose_next, self.step_delay_ms) < 0:
            raise FaultError("latency_ms, lose_next and step_delay_ms must be >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise FaultError("error_rate must be between 0.0 and 1.0")


class FaultBoard:
    """The current faults and the seeded draws made against them."""

    def __init__(self, faults: Faults, seed: int | None) -> None:
        self.faults = faults
        self._rng = random.Random(seed)

    def update(self, changes: Mapping[str, object]) -> None:
        """Apply `{"latency_ms"?, "error_rate"?, "lose_next"?, "step_delay_ms"?}`; the others stay."""
        unknown = set(changes) - set(asdict(self.faults))
        if unknown:
            raise FaultError(f"unknown fault settings: {sorted(unknown)}")
        values: dict[str, int | float] = {}
        for name, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FaultError(f"{name} must be a number")
            values[name] = float(value) if name == "error_rate" else int(value)
        self.faults = replace(self.faults, **values)  # type: ignore[arg-type]

    def as_json(self) -> dict[str, int | float]:
        return asdict(self.faults)

    def unavailable(self) -> bool:
        """Draw whether this ES2+ call is refused with 503."""
        rate = self.faults.error_rate
        return bool(rate) and self._rng.random() < rate

    def lose_answer(self) -> bool:
        """Whether this call's answer is lost (counts down `lose_next`)."""
        if self.faults.lose_next <= 0:
            return False
        self.faults = replace(self.faults, lose_next=self.faults.lose_next - 1)
        return True
