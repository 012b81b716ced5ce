"""What every handler of the carrier simulator shares: its state, fault board and clock, JSON answers, the
network check with its latency, and fault injection around a request whose effect is decided on arrival."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeGuard, TypeVar

from aiohttp import web

from topup.simulators.carriers.faults import Draw, FaultBoard
from topup.simulators.carriers.numbering import NETWORKS
from topup.simulators.carriers.state import CarrierState

T = TypeVar("T")
MAX_AMOUNT_MINOR: Final = 100_000  # EUR 1000: more than any prepaid top-up
MAX_REFERENCE_LENGTH: Final = 100


class Clock:
    """The carriers' time: the real time, moved forward by `POST /v1/admin/clock` so that a test or a demo
    can watch bundles expire without waiting for days."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0) + self.offset


STATE: Final = web.AppKey("state", CarrierState)
FAULTS: Final = web.AppKey("faults", FaultBoard)
TIMEOUT_SLEEP_S: Final = web.AppKey("timeout_sleep_s", float)
CLOCK: Final = web.AppKey("clock", Clock)


def answer(http_status: int, /, **body: Any) -> web.Response:
    return web.json_response(body, status=http_status)


def rejected(status: int, code: str) -> web.Response:
    return answer(status, status="rejected", code=code)


def valid_reference(reference: object) -> TypeGuard[str]:
    return isinstance(reference, str) and 0 < len(reference) <= MAX_REFERENCE_LENGTH


def valid_integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


async def network_of(request: web.Request) -> str | web.Response:
    """The path's network, after the configured latency; an error response for an unknown network."""
    network = request.match_info["network"]
    if network not in NETWORKS:
        return answer(404, status="not_found", code="unknown_network")
    latency_ms = request.app[FAULTS].get(network).latency_ms
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)
    return network


async def with_faults(
    request: web.Request, network: str, process: Callable[[], web.Response]
) -> web.Response:
    """Run a write under the network's faults: a 503 that changes nothing, or a timeout whose effect is
    decided and made now (or never), only the answer being late (past any client's patience)."""
    draw = request.app[FAULTS].draw(network)
    if draw is Draw.ERROR:
        return answer(503, status="retry", code="system_error")
    if draw is Draw.NORMAL:
        return process()
    response = process() if draw is Draw.TIMEOUT_APPLIED else None
    await asyncio.sleep(request.app[TIMEOUT_SLEEP_S])
    return response if response is not None else answer(504, status="unknown", code="timeout")


async def json_body(request: web.Request) -> object:
    try:
        return await request.json()
    except ValueError:
        return None


def faulty_write(
    parse: Callable[[web.Request, object], T | None], process: Callable[[web.Request, str, T], web.Response]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler of a network's write: check the network, parse the request's body (400 if unreadable),
    then `process` it under the network's faults."""

    async def handle(request: web.Request) -> web.Response:
        network = await network_of(request)
        if isinstance(network, web.Response):
            return network
        parsed = parse(request, await json_body(request))
        if parsed is None:
            return rejected(400, "invalid_request")
        return await with_faults(request, network, lambda: process(request, network, parsed))

    return handle
