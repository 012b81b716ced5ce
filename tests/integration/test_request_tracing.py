"""Following one order through the logs and the traces: placed and paid through the API against the payment
and carrier simulators, the request that paid it (the payment's webhook) has an id found on its access line,
on the lines of the jobs it queued (the delivery, then the receipt) and on the carrier call's line; with
tracing on, its server span, the delivery job's span, the carrier call's span and the receipt job's span are
one trace, each the child of the one before, the webhook's and the delivery's spans linked to the
placement's, in memory and through a real OTLP/HTTP receiver. The placing request's id finds those lines
too (as `order_request_id`)."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test.testcases import LiveServerThread
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration.conftest import Carriers, _log, run_jobs_until_idle
from tests.support import wired
from tests.support.orders import owner
from tests.support.processes import free_port, running
from topup import logs, tracing
from topup.adapters.payments.stripe import WEBHOOK_EVENTS
from topup.channels import access_log
from topup.db.models import Job
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK_ROUTE = "api/v1/payments/webhooks/<provider>"


@dataclass
class Platform:
    url: str  # our web server, with access lines on
    lines: io.StringIO  # every JSON log line of this process (routine ones too)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines.getvalue().splitlines()]


@pytest.fixture
def platform(seeded: None, carriers: Carriers, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """A web server of our own (access lines on) and a payment simulator sending it its webhooks, with the
    process's log lines captured as production writes them (JSON, ids bound, numbers masked)."""
    monkeypatch.setattr(access_log, "CONFIG", replace(CONFIG, access_log=True))
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=free_port())
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    url = f"http://127.0.0.1:{server.port}"
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.BoundIds())
    handler.addFilter(logs.MaskNumbers())
    logging.getLogger().addHandler(handler)
    before = wired.current_addresses()
    port = free_port()
    args = ["-m", "topup.simulators.payments", "--port", str(port), "--api-key", CONFIG.payments_api_key]
    webhook_url = f"{url}/api/v1/payments/webhooks/stripe"
    args += ["--webhook-secret", CONFIG.webhook_secrets[0], "--webhook-url", webhook_url]
    args += ["--webhook-events", ",".join(WEBHOOK_EVENTS), "--seed", "7"]
    simulator = f"http://127.0.0.1:{port}"
    try:
        with running(args, f"{simulator}/healthz", log_path=_log("payments-sim-tracing")):
            wired.point(payments=simulator)
            yield Platform(url, lines)
    finally:
        logging.getLogger().removeHandler(handler)
        wired._addresses.clear()
        wired._addresses.update(before)
        wired.point()
        server.terminate()
        server.join()


def buy(platform: Platform) -> tuple[dict[str, Any], str]:
    """Place a €10 Proximus top-up through the API, pay it at the simulator's checkout, run the jobs until
    it is delivered; the order and the placing request's id."""
    client = httpx.Client(base_url=platform.url, timeout=10)
    payload = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "bancontact"}
    placed = client.post("/api/v1/orders", json=payload, headers={"Idempotency-Key": "traced-1"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    approved = httpx.post(
        order["payment"]["checkout_url"], data={"action": "approve"}, headers={"Accept": "application/json"}
    )
    assert approved.status_code == 200
    deadline = time.monotonic() + 20
    while True:
        run_jobs_until_idle()
        status = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["status"]
        if status == "delivered":
            return order, placed.headers["X-Request-Id"]
        assert time.monotonic() < deadline, f"order still {status}"
        time.sleep(0.05)


def test_one_request_id_leads_from_the_paying_request_to_the_carrier_call(platform: Platform) -> None:
    order, placing_id = buy(platform)
    records = platform.records()
    assert all("request_id" in record for record in records)  # null outside a request or job

    placing = [r for r in records if r["request_id"] == placing_id]
    assert any(r["logger"] == "topup.access" and r.get("order_id") == order["id"] for r in placing)

    delivery = Job.objects.get(kind="deliver", subject_id=order["id"])
    paying_id = delivery.request_id  # the webhook's request: it applied the payment and queued the delivery
    assert paying_id
    assert paying_id != placing_id
    followed = [r for r in records if r["request_id"] == paying_id]
    access = [r for r in followed if r["logger"] == "topup.access"]
    assert [r["msg"].split()[:2] for r in access] == [["POST", WEBHOOK_ROUTE]]
    jobs = {(r["kind"], r["subject_id"]) for r in followed if r["logger"] == "topup.jobscope"}
    assert ("deliver", order["id"]) in jobs
    # The receipt, queued when the delivery's batch settled (several orders in one INSERT), keeps it too.
    receipt = f"receipt:{order['id']}"
    assert ("notify", receipt) in jobs
    assert Job.objects.get(kind="notify", subject_id=receipt).request_id == paying_id
    applied = [r for r in followed if r["msg"] == "webhook applied"]
    assert applied[0]["order_id"] == order["id"]
    delivered = [r for r in followed if r["logger"] == "topup.jobscope" and r["kind"] == "deliver"]
    assert delivered[0]["job_id"] == delivery.id
    assert delivered[0]["order_id"] == order["id"]
    calls = [r for r in followed if r["logger"] == "topup.adapters.observed" and r["peer"] == "carrier"]
    assert len(calls) == 1
    assert calls[0]["status"] == 200
    assert calls[0]["order_id"] == order["id"]
    assert calls[0]["job_id"] == delivery.id
    # The number is masked wherever it shows: the message, the operation, every field.
    assert "470123456" not in platform.lines.getvalue()


def test_the_placing_request_id_finds_the_placement_the_delivery_job_and_the_carrier_call(
    platform: Platform,
) -> None:
    order, placing_id = buy(platform)
    records = platform.records()
    found = [r for r in records if placing_id in (r["request_id"], r.get("order_request_id"))]
    placed = [
        r for r in found if r["logger"] == "topup.access" and r["msg"].startswith("POST api/v1/orders ")
    ]
    assert len(placed) == 1
    assert placed[0]["request_id"] == placing_id
    # The access line's parts as fields too, the route as /metrics names it.
    assert {key: placed[0][key] for key in ("method", "route", "status")} == {
        "method": "POST", "route": "/api/v1/orders", "status": 201,
    }  # fmt: skip
    assert isinstance(placed[0]["duration_ms"], float)
    delivery = Job.objects.get(kind="deliver", subject_id=order["id"])
    assert delivery.request_id != placing_id  # queued by the webhook's request...
    ran = [r for r in found if r["logger"] == "topup.jobscope" and r.get("job_id") == delivery.id]
    assert len(ran) == 1  # ...but its lines carry the placing request's id as order_request_id
    assert ran[0]["order_request_id"] == placing_id
    calls = [r for r in found if r["logger"] == "topup.adapters.observed" and r["peer"] == "carrier"]
    assert len(calls) == 1
    assert calls[0]["job_id"] == delivery.id
    assert calls[0]["order_request_id"] == placing_id
    applied = [r for r in found if r["msg"] == "webhook applied"]
    assert applied[0]["order_request_id"] == placing_id
    receipt = Job.objects.get(kind="notify", subject_id=f"receipt:{order['id']}")
    assert [r["order_request_id"] for r in found if r.get("job_id") == receipt.id][-1:] == [placing_id]
    # Found by the order id as well: every one of those lines names it.
    assert all(r["order_id"] == order["id"] for r in [*placed, *ran, *calls, *applied])


def _spans_of(order: dict[str, Any], spans: list[dict[str, Any]]) -> None:
    """The webhook's server span, its jobs' spans and the carrier call's span: one trace, parent links."""
    delivery = Job.objects.get(kind="deliver", subject_id=order["id"])
    deliver = [s for s in spans if s["attributes"].get("topup.job_id") == delivery.id]
    assert len(deliver) == 1
    by_id = {s["span_id"]: s for s in spans}
    webhook = by_id[deliver[0]["parent"]]
    assert webhook["name"] == f"POST {WEBHOOK_ROUTE}"
    assert webhook["kind"] == "SERVER"
    calls = [s for s in spans if s["parent"] == deliver[0]["span_id"] and s["kind"] == "CLIENT"]
    assert [c["name"] for c in calls] == ["carrier POST /v1/networks/proximus/topups"]
    receipt = Job.objects.get(kind="notify", subject_id=f"receipt:{order['id']}")
    (notify,) = [s for s in spans if s["attributes"].get("topup.job_id") == receipt.id]
    assert notify["parent"] == deliver[0]["span_id"]  # queued as the delivery settled
    trace_ids = {s["trace_id"] for s in (webhook, deliver[0], calls[0], notify)}
    assert len(trace_ids) == 1
    assert webhook["attributes"]["topup.request_id"] == delivery.request_id
    # The placement is a trace of its own: the webhook's span and the delivery's link to its span.
    (placing,) = [s for s in spans if s["name"] == "POST api/v1/orders" and s["kind"] == "SERVER"]
    assert placing["trace_id"] != webhook["trace_id"]
    placement = (placing["trace_id"], placing["span_id"])
    assert placement in webhook["links"]
    assert placement in deliver[0]["links"]


def test_the_paying_request_its_jobs_and_the_carrier_call_are_one_trace(platform: Platform) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        order, _placing_id = buy(platform)
    finally:
        tracing.use(None)
    spans = [
        {
            "name": s.name,
            "kind": s.kind.name,
            "trace_id": s.context.trace_id,
            "span_id": s.context.span_id,
            "parent": s.parent.span_id if s.parent is not None else None,
            "attributes": dict(s.attributes or {}),
            "links": [(link.context.trace_id, link.context.span_id) for link in s.links],
        }
        for s in exporter.get_finished_spans()
    ]
    _spans_of(order, spans)


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    received: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.received.append(request)
            self.send_response(200)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_the_trace_reaches_an_otlp_collector(platform: Platform) -> None:
    received: list[ExportTraceServiceRequest] = []
    handler = type("Collector", (_Collector,), {"received": received})
    collector = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    provider = tracing._exporting(f"http://127.0.0.1:{collector.server_address[1]}")
    tracing.use(provider)
    try:
        order, _placing_id = buy(platform)
        provider.force_flush()
    finally:
        tracing.use(None)
        provider.shutdown()
        collector.shutdown()
    spans = []
    for request in received:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert resource["service.name"] == "topup"
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    kind = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}[span.kind]
                    spans.append({
                        "name": span.name, "kind": kind, "trace_id": span.trace_id, "span_id": span.span_id,
                        "parent": span.parent_span_id or None, "attributes": attributes,
                        "links": [(link.trace_id, link.span_id) for link in span.links],
                    })  # fmt: skip
    _spans_of(order, spans)


def _value(value: Any) -> object:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
