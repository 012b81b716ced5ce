"""Stripe's HTTP clients with every call observed (`adapters.observed.outgoing`): the request id and
`traceparent` headers, a client span and one log line per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import stripe

from topup.adapters.observed import outgoing

Answer = tuple[Any, int, Mapping[str, str]]  # (body, status, headers)


def _observed(
    send: Callable[..., Answer], method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
) -> Answer:
    with outgoing("stripe", method.upper(), url) as call:
        answer = send(method, url, {**(headers or {}), **call.headers}, post_data)
        call.status = int(answer[1])  # (body, status, headers)
        return answer


class StripeHttpx(stripe.HTTPXClient):
    """Stripe's httpx client, its calls observed."""

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,  # the SDK's own telemetry: not sent by its clients either
    ) -> Answer:
        return _observed(super().request, method, url, headers, post_data)


class StripeRequests(stripe.RequestsClient):
    """Stripe's requests client, its calls observed."""

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> Answer:
        return _observed(super().request, method, url, headers, post_data)
