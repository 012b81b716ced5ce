"""OpenTelemetry traces, off unless a collector is configured (TOPUP_OTEL_EXPORTER_OTLP_ENDPOINT or the
standard OTEL_EXPORTER_OTLP_ENDPOINT) and the standard switches leave them on (off with OTEL_SDK_DISABLED=true
or OTEL_TRACES_EXPORTER=none): a server span per request (`channels.request_id`: a new trace, linked
to the caller's `traceparent`, never its child), a span per job run
(`jobscope`, the child of the span that queued the job, through the W3C `traceparent` kept on the job row),
and a client span per call to a peer (`adapters.observed`, which sends the `traceparent` header).

Off, only the API's no-op is used: no SDK import, no thread, no export, no header. On, spans go through a
BatchSpanProcessor to the OTLP/HTTP exporter at `<endpoint>/v1/traces`, with the resource service.name=topup
and topup.role (web, worker or cli). The provider is built lazily in each process (after gunicorn's fork:
its batch thread would not survive it) on the first span.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from topup.settings import CONFIG

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.util.types import AttributeValue

_PROPAGATOR = TraceContextTextMapPropagator()
_NO_OP = trace.NoOpTracer()


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0  # the process the tracer was built in (0: not yet)
        self.tracer: trace.Tracer = _NO_OP
        self.enabled = False
        self.role = os.environ.get("TOPUP_PROCESS", "cli")


_state = _State()


def set_role(role: str) -> None:
    """The process's role in the resource (`web` is set by `topup web`, `worker` by `topup worker`)."""
    _state.role = role


def use(provider: TracerProvider | None) -> None:
    """Trace into `provider` in this process from now on (tests: an in-memory exporter); None: off."""
    with _state.lock:
        _state.pid = os.getpid()
        _state.tracer = provider.get_tracer("topup") if provider is not None else _NO_OP
        _state.enabled = provider is not None


def _tracer() -> trace.Tracer:
    if _state.pid != os.getpid():
        with _state.lock:
            if _state.pid != os.getpid():
                provider = _exporting(CONFIG.otel_endpoint) if exporting() else None
                _state.tracer = provider.get_tracer("topup") if provider is not None else _NO_OP
                _state.enabled = provider is not None
                _state.pid = os.getpid()
    return _state.tracer


def exporting() -> bool:
    """A collector is configured, and the standard switches do not turn the SDK or its traces off
    (OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {name.strip().lower() for name in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")}
    return bool(CONFIG.otel_endpoint) and "none" not in exporters


def enabled() -> bool:
    _tracer()
    return _state.enabled


def _exporting(endpoint: str) -> TracerProvider:
    """A provider sending its spans in batches to the OTLP/HTTP collector at `endpoint`."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    resource = Resource.create({"service.name": "topup", "topup.role": _state.role})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    atexit.register(provider.shutdown)  # the last batch is sent at exit
    return provider


@contextmanager
def _span(
    name: str, kind: SpanKind, parent: Mapping[str, str] | None, attributes: Mapping[str, AttributeValue]
) -> Iterator[Span]:
    tracer = _tracer()
    if not _state.enabled:
        yield INVALID_SPAN
        return
    context = _PROPAGATOR.extract(parent) if parent else None
    links: list[Link] = []
    if kind is SpanKind.SERVER:  # a new root (an empty context), linked to the caller's span
        caller = trace.get_current_span(context).get_span_context() if context is not None else None
        links = [Link(caller)] if caller is not None and caller.is_valid else []
        context = Context()
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=attributes, links=links
    ) as span:
        yield span


def server_span(
    name: str, traceparent: str, attributes: Mapping[str, AttributeValue]
) -> AbstractContextManager[Span]:
    """A request's span: the root of a new trace (a caller does not choose our trace), with a link to the
    caller's span when it sent a `traceparent`."""
    return _span(name, SpanKind.SERVER, {"traceparent": traceparent} if traceparent else None, attributes)


def job_span(
    name: str, traceparent: str, attributes: Mapping[str, AttributeValue]
) -> AbstractContextManager[Span]:
    """A job run's span: the child of the span that queued the job (its `traceparent`), else a new trace."""
    return _span(name, SpanKind.CONSUMER, {"traceparent": traceparent} if traceparent else None, attributes)


def client_span(name: str, attributes: Mapping[str, AttributeValue]) -> AbstractContextManager[Span]:
    """An outgoing call's span, the child of the current one."""
    return _span(name, SpanKind.CLIENT, None, attributes)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` to outgoing headers (nothing when tracing is off)."""
    if _state.enabled:
        _PROPAGATOR.inject(headers)


def link_to(traceparent: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
    """Link the current span to the span of `traceparent` (another trace: an order's placement), when
    tracing and both are known; nothing otherwise."""
    if not (_state.enabled and traceparent):
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    linked = trace.get_current_span(_PROPAGATOR.extract({"traceparent": traceparent})).get_span_context()
    if linked.is_valid:
        span.add_link(linked, attributes)


def current_traceparent() -> str:
    """`Job.traceparent`'s default: the span that queues the job, "" when tracing is off."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent", "")
