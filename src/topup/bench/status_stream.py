"""How `topup bench` learns an order's status: pushed by the platform, not polled.

The client follows each order with one request, the order's event stream
(`GET /api/v1/orders/{id}/events`, Server-Sent Events): the platform sends the order's document each time
its state changes (pushed to the stream by LISTEN/NOTIFY on PostgreSQL) and ends the stream after a
terminal status or after its longest stream, when the client reconnects with `Last-Event-ID`. When the
server already follows as many orders as it may (503), the client asks once by long poll instead,
`GET /api/v1/orders/{id}?wait=<s>&after=<status>`, which is answered at once if the status already changed;
refused again, it pauses `BUSY_PAUSE_S` and opens the stream again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Final

import aiohttp

from topup.bench.peers import Peer, json_object

LONG_POLL_S: Final = 20  # the platform's longest wait
BUSY_PAUSE_S: Final = 0.25


def note() -> str:
    """The report's note on how paid/delivered/end_to_end were measured."""
    return (
        "paid/delivered/end_to_end are measured by the order's event stream "
        "(GET /api/v1/orders/{id}/events, Server-Sent Events, one request per order), each status seen when "
        "its event arrives: each overstates the true time by about one event's travel; a client the server "
        f"refused to stream to (503) asks once by long poll (?wait={LONG_POLL_S}&after=<status>) and, "
        f"refused again, after {BUSY_PAUSE_S * 1000:.0f} ms"
    )


async def statuses(
    peer: Peer, order_url: str, token: str, seen: str, *, deadline: float
) -> AsyncGenerator[tuple[str, float]]:
    """Each new status of the order at `order_url` (…/api/v1/orders/{id}) with the `perf_counter` time it
    was seen, until `deadline`."""
    last_event_id = ""
    while deadline - time.perf_counter() > 0:
        refused = False
        async with aclosing(
            _stream(peer, order_url, token, seen, last_event_id=last_event_id, deadline=deadline)
        ) as events:
            async for status, state, at in events:
                if state is None:
                    refused = True
                    continue  # the stream's only item
                last_event_id = state
                if status != seen:
                    seen = status
                    yield status, at
        if not refused:
            continue  # the stream ended (or failed, counted): open it again from the last event
        polled = await _long_poll(peer, order_url, token, seen, deadline)
        if polled is not None and polled[0] != seen:
            seen = polled[0]
            yield polled
        elif polled is None:
            await asyncio.sleep(min(BUSY_PAUSE_S, max(0.0, deadline - time.perf_counter())))


async def _stream(
    peer: Peer, order_url: str, token: str, seen: str, *, last_event_id: str, deadline: float
) -> AsyncGenerator[tuple[str, str | None, float]]:
    """(status, state, time seen) of each event of one stream; one ("", None, time) when refused (503)."""
    headers = {"X-Order-Token": token, "Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    left = max(0.1, deadline - time.perf_counter())
    try:
        async with peer.client.get(
            f"{order_url}/events",
            headers=headers,
            params={"after": seen},
            timeout=aiohttp.ClientTimeout(total=left),
        ) as raw:
            if raw.status == 503:
                await raw.read()
                yield "", None, time.perf_counter()
                return
            if raw.status != 200:  # 204: the order already ended at `seen`; the caller stops at a terminal
                peer.errors[f"stream {raw.status}"] += 1
                await raw.read()
                await asyncio.sleep(min(BUSY_PAUSE_S, max(0.0, deadline - time.perf_counter())))
                return
            fields: dict[str, str] = {}
            async for raw_line in raw.content:
                line = raw_line.decode().rstrip("\r\n")
                if line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                    continue
                if fields.get("event") == "order" and "data" in fields:
                    status = json.loads(fields["data"]).get("status")
                    if isinstance(status, str):
                        yield status, fields.get("id", ""), time.perf_counter()
                fields = {}
    except (TimeoutError, aiohttp.ClientError) as exc:
        peer.errors[f"stream {type(exc).__name__}"] += 1
        await asyncio.sleep(min(BUSY_PAUSE_S, max(0.0, deadline - time.perf_counter())))


async def _long_poll(
    peer: Peer, order_url: str, token: str, seen: str, deadline: float
) -> tuple[str, float] | None:
    """(status, time seen) from one long poll; None when refused (503) or failed."""
    wait = max(0, min(LONG_POLL_S, int(deadline - time.perf_counter()) - 1))
    params = {"wait": str(wait), "after": seen}
    response = await peer.send(
        "wait", "GET", order_url, headers={"X-Order-Token": token}, params=params, expected=frozenset({503})
    )
    at = time.perf_counter()
    if response is None or response.status_code != 200:
        return None
    status = json_object(response).get("status")
    return (status, at) if isinstance(status, str) else None
