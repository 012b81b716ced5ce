"""Time every HTTP request by its URL pattern (`api/v1/orders/<str:order_id>`), method and status.

The route is the pattern Django matched, never the path: paths carry order ids and phone numbers, and a
label per path would grow without bound. A request that matched no pattern is `(no route)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from django.http import HttpRequest, HttpResponse

from topup.metrics import series

NO_ROUTE: Final = "(no route)"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The request's route as its series and its access line name it: `/` and the pattern it matched."""
    match = request.resolver_match
    return "/" + match.route if match is not None else NO_ROUTE


class RequestLatencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in _METHODS else "other"
        series.HTTP_REQUEST_SECONDS.labels(route, method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
