"""The request id as a caller sees it (the `X-Request-Id` answer: always ours; the caller's in
`X-Client-Request-Id`; a caller's `traceparent` is linked, not adopted) and as the log lines carry it,
Django's own line for a 404 included (written after the middleware returned)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from topup import logcontext, tracing
from topup.logs import BoundIds

pytestmark = pytest.mark.django_db


def test_our_id_is_always_our_own_a_safe_caller_id_is_kept_beside_it(client: Client) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42"})
    assert len(kept["X-Request-Id"]) == 32
    assert kept["X-Request-Id"] != "lb-7f3a.42"
    assert kept["X-Client-Request-Id"] == "lb-7f3a.42"
    refused = client.get("/healthz", headers={"X-Request-Id": 'x" level=error'})
    assert len(refused["X-Request-Id"]) == 32
    assert "X-Client-Request-Id" not in refused
    assert client.get("/healthz")["X-Request-Id"] != refused["X-Request-Id"]


def test_a_caller_traceparent_is_linked_not_adopted(client: Client) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    caller_trace, caller_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    tracing.use(provider)
    try:
        client.get("/healthz", headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
    finally:
        tracing.use(None)
    (span,) = exporter.get_finished_spans()
    assert span.parent is None
    assert f"{span.context.trace_id:032x}" != caller_trace
    (link,) = span.links
    assert (f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") == (caller_trace, caller_span)


def test_every_line_of_the_request_carries_it_then_it_is_forgotten(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(BoundIds())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        answer = client.get(
            "/api/v1/orders/ord_01M92XJCJ79XQQXMKGGRKE78Y8", headers={"X-Request-Id": "req-404"}
        )
    assert answer.status_code == 404
    ours = answer["X-Request-Id"]
    found = [r for r in caplog.records if r.name == "django.request"]
    assert [r.request_id for r in found] == [ours]  # type: ignore[attr-defined]
    assert [r.client_request_id for r in found] == ["req-404"]  # type: ignore[attr-defined]
    assert logcontext.request_id() == ""  # the response was closed: nothing left on this thread


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": "00-zz-not-hex-01"},
        {"traceparent": "ff-" + "0" * 32 + "-" + "0" * 16 + "-01"},
        {"traceparent": "x" * 10_000, "tracestate": "=" * 5_000},
        {"X-Request-Id": "a" * 10_000},
        {"X-Request-Id": "line\r\nlevel=error"},
    ],
)
def test_an_outsiders_malformed_trace_headers_change_nothing_and_never_answer_500(
    client: Client, headers: dict[str, str]
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        answer = client.get("/api/v1/plans", headers=headers)
    finally:
        tracing.use(None)
    assert answer.status_code == 200
    assert len(answer["X-Request-Id"]) == 32
    assert "X-Client-Request-Id" not in answer
    (span,) = exporter.get_finished_spans()
    assert span.parent is None
    assert not span.links
