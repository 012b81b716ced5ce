"""Traces are exported only when a collector is configured and the standard OpenTelemetry switches leave
them on: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn them off."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from topup import tracing


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    configured = dataclasses.replace(tracing.CONFIG, otel_endpoint="http://127.0.0.1:9/")
    monkeypatch.setattr(tracing, "CONFIG", configured)
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    yield
    tracing.use(None)


@pytest.mark.usefixtures("collector")
def test_a_configured_collector_is_used() -> None:
    assert tracing.exporting()


@pytest.mark.usefixtures("collector")
@pytest.mark.parametrize(
    ("name", "value"),
    [("OTEL_SDK_DISABLED", "true"), ("OTEL_SDK_DISABLED", "TRUE"), ("OTEL_TRACES_EXPORTER", "none")],
)
def test_the_standard_switches_turn_traces_off(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    assert not tracing.exporting()
    monkeypatch.setattr(tracing._state, "pid", 0)  # as in a new process: the tracer is built again
    assert not tracing.enabled()
    assert tracing.current_traceparent() == ""


def test_no_collector_no_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "CONFIG", dataclasses.replace(tracing.CONFIG, otel_endpoint=""))
    assert not tracing.exporting()
