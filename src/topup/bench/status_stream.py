"""How `topup bench` learns an order's status: pushed by the platform, not polled.

Each wait is a long poll, `GET /api/v1/orders/{id}?wait=<s>&after=<status>`, which the platform answers as
soon as the order's status differs from the one the client saw (the change is pushed to the waiting request
by LISTEN/NOTIFY on PostgreSQL), so a status is seen within one round trip of its commit. When the server
already holds as many waiting requests as it may (503), the client pauses `BUSY_PAUSE_S` and asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Final

from topup.bench.peers import Peer, json_object

LONG_POLL_S: Final = 20  # the platform's longest wait
BUSY_PAUSE_S: Final = 0.25


def note() -> str:
    """The report's note on how paid/delivered/end_to_end were measured."""
    return (
        "paid/delivered/end_to_end are measured by long polls the platform answers when the status changes "
        f"(GET /api/v1/orders/{{id}}?wait={LONG_POLL_S}&after=<status>): each overstates the true time by "
        f"about one response's travel; a client the server refused to hold (503) asks again after "
        f"{BUSY_PAUSE_S * 1000:.0f} ms"
    )


async def statuses(
    peer: Peer, order_url: str, token: str, seen: str, *, deadline: float
) -> AsyncIterator[tuple[str, float]]:
    """Each new status of the order at `order_url` (…/api/v1/orders/{id}) with the `perf_counter` time it
    was seen, until `deadline`."""
    url = order_url
    headers = {"X-Order-Token": token}
    while (left := deadline - time.perf_counter()) > 0:
        wait = max(0, min(LONG_POLL_S, int(left) - 1))
        params = {"wait": str(wait), "after": seen}
        response = await peer.send(
            "wait", "GET", url, headers=headers, params=params, expected=frozenset({503})
        )
        at = time.perf_counter()
        if response is not None and response.status_code == 200:
            status = json_object(response).get("status")
            if isinstance(status, str) and status != seen:
                seen = status
                yield status, at
                continue
            if wait:
                continue  # the wait ran out unchanged: wait again
        await asyncio.sleep(min(BUSY_PAUSE_S, max(0.0, deadline - at)))
