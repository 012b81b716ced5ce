"""The series follow Prometheus' naming (prefix, units last, counters end in _total) and `peer_call` times
every call and counts the failed ones, by exception or by a 5xx answer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from topup.metrics import series
from topup.metrics.peers import peer_call

DEFINED = [value for value in vars(series).values() if isinstance(value, Counter | Gauge | Histogram)]


def test_every_series_is_named_as_prometheus_asks() -> None:
    assert len(DEFINED) >= 10
    for metric in DEFINED:
        name = metric._name
        assert name.startswith("topup_"), name
        assert metric._documentation, name
        if isinstance(metric, Histogram):
            assert name.endswith("_seconds"), name
        if isinstance(metric, Counter):
            assert not name.endswith("_total"), name  # prometheus-client appends it
    for name in series.DATABASE_GAUGES:
        assert name.startswith("topup_"), name
        assert not name.endswith("_total"), name


def test_no_label_can_carry_an_id_or_a_number() -> None:
    labels = {label for metric in DEFINED for label in metric._labelnames}
    assert not labels & {"path", "order_id", "msisdn", "payment_id", "reference", "url"}


def _seen(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@dataclass
class _Answer:
    status_code: int


def test_peer_call_times_and_counts_errors() -> None:
    where = {"peer": "unit", "operation": "ping"}
    calls = _seen("topup_peer_call_duration_seconds_count", **where)
    with peer_call("unit", "ping") as call:
        assert call.answer(_Answer(200)).status_code == 200
    with peer_call("unit", "ping") as call:
        call.answer(_Answer(503))
    with pytest.raises(TimeoutError), peer_call("unit", "ping"):
        raise TimeoutError
    assert _seen("topup_peer_call_duration_seconds_count", **where) == calls + 3
    assert _seen("topup_peer_call_errors_total", **where, error="http_503") >= 1
    assert _seen("topup_peer_call_errors_total", **where, error="TimeoutError") >= 1
