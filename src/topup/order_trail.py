"""Following an order from the request that placed it: the later requests and jobs that load its row (the
payment webhook, the delivery job and its carrier call) carry the placing request's id on their log lines
(`order_request_id`) and, when tracing, link their span to the placement's span (`Order.traceparent`).

Read from the order row the caller already has: never a query of its own."""

from __future__ import annotations

from typing import Protocol

from topup import logcontext, tracing


class PlacedOrder(Protocol):
    @property
    def request_id(self) -> str: ...
    @property
    def traceparent(self) -> str: ...


def follow(order: PlacedOrder) -> None:
    """Bind the order's placing request id to the current scope's lines; link the current span to its
    placement's span."""
    logcontext.bind(order_request_id=order.request_id)
    tracing.link_to(order.traceparent, {"topup.link": "order placement"})
