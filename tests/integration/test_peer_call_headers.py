"""A call to a peer carries the request's id (and, tracing, its span's `traceparent`) as the peer receives
them on the wire, through each kind of client we build: httpx (sync and async) and Stripe's SDK client; and
it writes one line with the peer, the operation, the status and the time."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from topup import logcontext, tracing
from topup.adapters import observed
from topup.adapters.payments.stripe_http import StripeHttpx, StripeRequests


class _Peer(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def _answer(self) -> None:
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"{}"
        self.send_response(503 if self.path.startswith("/down") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def peer() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Peer", (_Peer,), {"seen": seen}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_each_client_sends_the_request_id(peer: tuple[str, list[dict[str, str]]]) -> None:
    url, seen = peer
    with logcontext.bound(request_id="req-peer-1"):
        with httpx.Client(base_url=url, transport=observed.transport("carrier")) as client:
            assert client.post("/v1/topups", json={}).status_code == 200

        async def call() -> int:
            async with httpx.AsyncClient(
                base_url=url, transport=observed.async_transport("carrier")
            ) as client:
                return (await client.get("/v1/status")).status_code

        assert asyncio.run(call()) == 200
        assert (
            StripeHttpx(timeout=5, allow_sync_methods=True).request("get", f"{url}/v1/charges", {})[1] == 200
        )
        assert StripeRequests(timeout=5).request("post", f"{url}/v1/refunds", {}, "a=1")[1] == 200
    assert [headers.get("x-request-id") for headers in seen] == ["req-peer-1"] * 4
    assert all("traceparent" not in headers for headers in seen)  # tracing is off


def test_tracing_sends_the_client_span_as_parent(peer: tuple[str, list[dict[str, str]]]) -> None:
    url, seen = peer
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        with (
            logcontext.bound(request_id="req-peer-2"),
            httpx.Client(transport=observed.transport("smdp")) as c,
        ):
            c.get(f"{url}/gsma/rsp2/es2plus/confirmOrder")
    finally:
        tracing.use(None)
    (span,) = exporter.get_finished_spans()
    assert span.name == "smdp GET /gsma/rsp2/es2plus/confirmOrder"
    assert span.context is not None
    sent = seen[0]["traceparent"].split("-")  # version, trace id, parent id, flags (sampled: odd)
    assert sent[1:3] == [f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"]
    assert int(sent[3], 16) & 1


def test_one_line_per_call_a_failure_is_a_warning(
    peer: tuple[str, list[dict[str, str]]], caplog: pytest.LogCaptureFixture
) -> None:
    url, _seen = peer
    caplog.set_level(logging.INFO, logger="topup.adapters.observed")
    with httpx.Client(base_url=url, transport=observed.transport("dtone")) as client:
        client.get("/v1/lines/+32470123456")
        client.get("/down")
        with pytest.raises(httpx.ConnectError):
            client.get("http://127.0.0.1:9/nothing")  # the discard port: nothing listens
    lines = [(r.levelname, r.peer, r.operation, r.status) for r in caplog.records]  # type: ignore[attr-defined]
    assert lines == [
        ("INFO", "dtone", "GET /v1/lines/+32470123456", 200),  # masked by the handlers' filter
        ("WARNING", "dtone", "GET /down", 503),
        ("WARNING", "dtone", "GET /nothing", "ConnectError"),
    ]


def test_a_span_names_no_number(peer: tuple[str, list[dict[str, str]]]) -> None:
    """A balance call for a number: the span's name is templated, its path masked, nowhere the number."""
    url, _seen = peer
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        with (
            logcontext.bound(request_id="req-peer-3"),
            httpx.Client(transport=observed.transport("carrier")) as c,
        ):
            assert c.get(f"{url}/v1/networks/proximus/lines/%2B32470123456/balance").status_code == 200
            c.get(f"{url}/v1/topups/ord_01JXYZ7")
    finally:
        tracing.use(None)
    balance, topup = exporter.get_finished_spans()
    assert balance.name == "carrier GET /v1/networks/proximus/lines/{id}/balance"
    assert topup.name == "carrier GET /v1/topups/{id}"
    attributes = dict(balance.attributes or {})
    assert attributes["url.path"] == "/v1/networks/proximus/lines/+32 470 •• •• 56/balance"
    shown = [balance.name, *map(str, attributes.values())]
    assert not [text for text in shown if "470123456" in text.replace("%2B", "+")]
