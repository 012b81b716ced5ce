"""Fault injection for the carrier simulator: latency, transient errors and timeouts, per network.

Draws come from one seeded `random.Random`, in arrival order, so a sequential client sees the same faults
for the same seed. Faults are changed at runtime through `POST /v1/admin/faults`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import Enum

from topup.simulators.carriers.numbering import NETWORKS


class FaultError(ValueError):
    """A fault setting that is out of range or names an unknown network."""


@dataclass(frozen=True, slots=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise FaultError("latency_ms must be >= 0")
        for rate in (self.error_rate, self.timeout_rate):
            if not 0.0 <= rate <= 1.0:
                raise FaultError("rates must be between 0.0 and 1.0")


class Draw(Enum):
    """What happens to one top-up request."""

    NORMAL = "normal"
    ERROR = "error"  # answer 503 at once, apply nothing
    TIMEOUT_APPLIED = "timeout_applied"  # apply now, answer after the timeout sleep
    TIMEOUT_DROPPED = "timeout_dropped"  # apply nothing, answer after the timeout sleep


def parse_fault_spec(spec: str) -> tuple[str, Faults]:
    """Parse `NETWORK:latency_ms:error_rate:timeout_rate` (the repeatable `--fault` flag)."""
    parts = spec.split(":")
    if len(parts) != 4 or parts[0] not in NETWORKS:
        raise FaultError(f"expected NETWORK:latency_ms:error_rate:timeout_rate with NETWORK in {NETWORKS}")
    try:
        return parts[0], Faults(int(parts[1]), float(parts[2]), float(parts[3]))
    except ValueError as exc:
        raise FaultError(f"bad fault spec {spec!r}: {exc}") from exc


class FaultBoard:
    """The current fault settings of every network, and the seeded draws made against them."""

    def __init__(self, default: Faults, overrides: Mapping[str, Faults], seed: int | None) -> None:
        self._by_network = {network: overrides.get(network, default) for network in NETWORKS}
        self._rng = random.Random(seed)

    def get(self, network: str) -> Faults:
        return self._by_network[network]

    def update(self, changes: Mapping[str, object]) -> None:
        """Apply `{"network": name or "*", "latency_ms"?, "error_rate"?, "timeout_rate"?}`; others stay."""
        target = changes.get("network", "*")
        networks = NETWORKS if target == "*" else (str(target),)
        if any(network not in NETWORKS for network in networks):
            raise FaultError(f"network must be '*' or one of {NETWORKS}")
        updated = {}
        for network in networks:
            current = self._by_network[network]
            updated[network] = Faults(
                latency_ms=int(_number(changes, "latency_ms", current.latency_ms)),
                error_rate=_number(changes, "error_rate", current.error_rate),
                timeout_rate=_number(changes, "timeout_rate", current.timeout_rate),
            )
        self._by_network.update(updated)

    def as_json(self) -> dict[str, dict[str, int | float]]:
        return {network: asdict(faults) for network, faults in self._by_network.items()}

    def draw(self, network: str) -> Draw:
        faults = self._by_network[network]
        if faults.error_rate and self._rng.random() < faults.error_rate:
            return Draw.ERROR
        if faults.timeout_rate and self._rng.random() < faults.timeout_rate:
            return Draw.TIMEOUT_APPLIED if self._rng.random() < 0.5 else Draw.TIMEOUT_DROPPED
        return Draw.NORMAL


def _number(changes: Mapping[str, object], name: str, current: float) -> float:
    value = changes.get(name, current)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number")
    return float(value)
