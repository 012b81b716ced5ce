"""The simulator's faults: knobs set by flags at start and by `POST /_sim/faults` at run time."""

from __future__ import annotations

from dataclasses import dataclass

from topup.simulators.payments.errors import Json, invalid


@dataclass(slots=True)
class Faults:
    """The knobs a test or an operator turns at run time (`POST /_sim/faults`)."""

    latency_ms: int = 0
    error_rate: float = 0.0  # a 500 api_error before anything is done
    timeout_rate: float = 0.0  # done, then the answer comes only after timeout_sleep_s
    timeout_sleep_s: float = 30.0
    decline_rate: float = 0.0  # an approval at the hosted page is declined anyway
    processing_ms: int = 0  # > 0: an approval passes through `processing` this long
    refund_delay_ms: int = 500  # how long an asynchronous refund stays pending
    refund_failure_rate: float = 0.0  # an asynchronous refund fails
    duplicate_webhook_rate: float = 0.0
    reorder_webhook_rate: float = 0.0  # an event is held back up to 2 s, so a later one may overtake it

    def update(self, changes: Json) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise invalid("parameter_unknown", f"Unknown fault {name!r}.", name)
            current = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise invalid("parameter_invalid", f"{name} must be a number.", name)
            if isinstance(current, float) and name.endswith("_rate") and not 0 <= value <= 1:
                raise invalid("parameter_invalid", f"{name} must lie between 0 and 1.", name)
            if value < 0:
                raise invalid("parameter_invalid", f"{name} must not be negative.", name)
            setattr(self, name, type(current)(value))

    def as_json(self) -> Json:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
