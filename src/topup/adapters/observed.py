"""What every call to a peer (carrier gateways, DT One, the SM-DP+, Stripe, the ECB) does besides its work:
send the request's `X-Request-Id` (and `traceparent` when tracing), run inside a client span, and log one
line with the peer, the operation (method and path, no query), the status and the time.

Put in place once per client, where it is built: an httpx transport (`transport`, `async_transport`, which
route each request as a plain client would: through the proxy HTTP(S)_PROXY names, not around it), or
Stripe's HTTP client (`adapters.payments.stripe_http`). A call that answered below 500 is a routine INFO
line (`logs.ROUTINE`: only with TOPUP_ACCESS_LOG); a 5xx, a timeout or a refused connection is a WARNING.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import httpx
from opentelemetry.trace import Status, StatusCode

from topup import logcontext, logs, tracing

log = logging.getLogger(__name__)

_SERVER_ERROR = 500
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own default
# A path segment that names one thing (a number, an order, a payment intent, a UUID), not an operation:
# three digits or more, or a typed id (`ord_…`, `pi_…`) with a digit. `v1`, `rsp2`, `es2plus` stay.
_ID_SEGMENT = re.compile(r"(?:.*\d){3}.*|[A-Za-z]+_\w*\d\w*")


def templated(path: str) -> str:
    """The path with each segment naming one thing as `{id}`: a span name of few values, no number in it
    (`/v1/networks/proximus/lines/%2B32470123456/balance` -> `/v1/networks/proximus/lines/{id}/balance`)."""
    segments = ["{id}" if _ID_SEGMENT.fullmatch(unquote(segment)) else segment for segment in path.split("/")]
    return "/".join(segments) or "/"


@dataclass
class Call:
    """One outgoing call: the headers to add to it, then what came back."""

    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0  # 0: no answer (an exception)


@contextmanager
def outgoing(peer: str, method: str, url: str) -> Iterator[Call]:
    """Around one call to `peer`: a client span, the headers to send (`Call.headers`), the log line."""
    path = urlsplit(url).path
    operation = f"{method} {path or '/'}"  # its numbers masked on the log line (logs.MaskNumbers)
    call = Call()
    started = time.perf_counter()
    failure = ""
    # The span: named by peer, method and templated path; its path with numbers masked (a span is no log).
    attributes = {
        "peer.service": peer, "http.request.method": method, "url.path": logs.mask_numbers(unquote(path)),
    }  # fmt: skip
    with tracing.client_span(f"{peer} {method} {templated(path)}", attributes) as span:
        request_id = logcontext.request_id()
        if request_id:
            call.headers["X-Request-Id"] = request_id
        tracing.inject(call.headers)
        try:
            yield call
        except Exception as exc:
            failure = type(exc).__name__
            raise
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            status: int | str = call.status or failure or "no answer"
            if span.is_recording():
                span.set_attribute("http.response.status_code", call.status)
                if not call.status or call.status >= _SERVER_ERROR:
                    span.set_status(Status(StatusCode.ERROR, failure or None))
            good = 0 < call.status < _SERVER_ERROR
            log.log(
                logging.INFO if good else logging.WARNING,
                "%s %s %s %.1fms", peer, operation, status, elapsed_ms,
                extra={"peer": peer, "operation": operation, "status": status, "ms": round(elapsed_ms, 1)},
            )  # fmt: skip


class ObservedTransport(httpx.BaseTransport):
    """An httpx transport that observes each request (`outgoing`) on its way to the wrapped transport."""

    def __init__(self, peer: str, inner: httpx.BaseTransport) -> None:
        self.peer = peer
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with outgoing(self.peer, request.method, str(request.url)) as call:
            request.headers.update(call.headers)
            response = self.inner.handle_request(request)
            call.status = response.status_code
            return response

    def close(self) -> None:
        self.inner.close()


class AsyncObservedTransport(httpx.AsyncBaseTransport):
    """`ObservedTransport` for async clients."""

    def __init__(self, peer: str, inner: httpx.AsyncBaseTransport) -> None:
        self.peer = peer
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with outgoing(self.peer, request.method, str(request.url)) as call:
            request.headers.update(call.headers)
            response = await self.inner.handle_async_request(request)
            call.status = response.status_code
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _EnvRouted(httpx.BaseTransport):
    """The transports an ordinary client would use (`trust_env`: HTTP(S)_PROXY, ALL_PROXY, NO_PROXY and
    SSL_CERT_FILE from the environment), picked per URL as that client picks them: a client given its own
    `transport=` would ignore the proxy settings (httpx 0.28)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._client = httpx.Client(limits=limits)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client._transport_for_url(request.url).handle_request(request)

    def close(self) -> None:
        self._client.close()


class _AsyncEnvRouted(httpx.AsyncBaseTransport):
    """`_EnvRouted` for async clients."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._client = httpx.AsyncClient(limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._client._transport_for_url(request.url)
        return await inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._client.aclose()


def transport(peer: str, limits: httpx.Limits = DEFAULT_LIMITS) -> ObservedTransport:
    """The transport of a client for `peer` (a client given a transport ignores its own `limits`), through
    the proxy the environment names, as a client without a transport of its own would go."""
    return ObservedTransport(peer, _EnvRouted(limits))


def async_transport(peer: str, limits: httpx.Limits = DEFAULT_LIMITS) -> AsyncObservedTransport:
    return AsyncObservedTransport(peer, _AsyncEnvRouted(limits))
