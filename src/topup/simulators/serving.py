"""What the simulators' servers share: serving until a signal, reading a JSON object body."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web


async def serve_until_stopped(
    app: web.Application, host: str, port: int, announce: Callable[[str], str]
) -> None:
    """Listen on host:port and print `announce(address)`; on a signal, answers still sleeping are dropped."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        print(announce(site.name), flush=True)
        await stopping.wait()
    finally:
        await runner.cleanup()


async def json_object(request: web.Request) -> dict[str, Any] | None:
    """The request's body if it is a JSON object, else None (not JSON, or another JSON value)."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
