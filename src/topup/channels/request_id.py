"""Every request gets an id of ours (never the caller's: a caller could choose one to mix its lines with
another's). It is bound to every log line written while the request runs (`topup.logcontext`), kept on the
jobs the request queues, sent on its calls to peers, and returned in the response's `X-Request-Id`. A
caller's `X-Request-Id` that is short and of safe characters is kept beside it, as `client_request_id` on
the lines, and echoed in `X-Client-Request-Id`.

The id stays bound until the response is closed (`request_finished`): Django writes its own line for a 4xx
or 5xx answer after the middleware returned. With tracing on, the request is a server span named by its
route (`POST api/v1/orders`, never the path: paths carry phone numbers and tokens), the root of a trace of
ours, linked to (not the child of) the caller's `traceparent`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from opentelemetry.trace import Status, StatusCode

from topup import logcontext, tracing

HEADER = "X-Request-Id"
CLIENT_HEADER = "X-Client-Request-Id"
_SERVER_ERROR = 500


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logcontext.new_request_id()
        client_request_id = logcontext.accepted(request.headers.get(HEADER))
        method = request.method or "GET"
        attributes = {"http.request.method": method, "topup.request_id": request_id}
        if client_request_id:
            attributes["topup.client_request_id"] = client_request_id
        traceparent = request.headers.get("traceparent", "")
        # forgotten by `_forget` when the response is closed
        logcontext.start(request_id=request_id, client_request_id=client_request_id)
        with tracing.server_span(method, traceparent, attributes) as span:
            response = self.get_response(request)
            if span.is_recording():
                match = request.resolver_match
                route = match.route if match is not None else "(no route)"
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= _SERVER_ERROR:
                    span.set_status(Status(StatusCode.ERROR))
        response[HEADER] = request_id
        if client_request_id:
            response[CLIENT_HEADER] = client_request_id
        return response


def _forget(**_kwargs: object) -> None:
    logcontext.start()


request_finished.connect(_forget, dispatch_uid="topup.channels.request_id")
