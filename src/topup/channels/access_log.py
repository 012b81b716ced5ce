"""One access line per HTTP request (method, route, status, time), only when TOPUP_ACCESS_LOG is on.

Off by default: a line per request was most of the log under load. The route is the URL pattern
(`api/v1/orders/<order_id>`), never the path itself: paths carry phone numbers, one-time enrolment
tokens and the secret of carrier callbacks, and the query string may carry anything. In JSON the line has
them as fields too: `method`, `route` (with its leading `/`, as /metrics names it), `status`, `duration_ms`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from topup.metrics.http import NO_ROUTE, route_of
from topup.settings import CONFIG

log = logging.getLogger("topup.access")


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not CONFIG.access_log:
            raise MiddlewareNotUsed  # Django leaves it out of the chain: nothing to pay per request
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = match.route if match is not None else NO_ROUTE
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %.1fms", request.method, route, response.status_code, elapsed_ms,
            extra={"method": request.method, "route": route_of(request), "status": response.status_code,
                   "duration_ms": round(elapsed_ms, 1)},
        )  # fmt: skip
        return response
