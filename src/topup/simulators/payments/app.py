"""Assemble the payment simulator's aiohttp application and run it until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal

from aiohttp import web

from topup.logs import install_number_masking
from topup.simulators.payments.api import Api, middlewares
from topup.simulators.payments.checkout import Checkout
from topup.simulators.payments.config import SimulatorSettings, settings_from_args
from topup.simulators.payments.idempotency import IdempotencyStore
from topup.simulators.payments.state import Json, PaymentBook
from topup.simulators.payments.webhooks import WebhookDispatcher

log = logging.getLogger("topup.simulators.payments")


def build_app(settings: SimulatorSettings) -> web.Application:
    """The application with its book, idempotency store and webhook dispatcher.

    Each kind of fault draws from its own PRNG derived from the seed, so that adding traffic of one
    kind does not shift the draws of the other.
    """
    master = random.Random(settings.seed)
    decline_rng = random.Random(master.getrandbits(64))
    duplicate_rng = random.Random(master.getrandbits(64))
    dispatcher = WebhookDispatcher(settings.webhook_url, settings.webhook_secret)

    def emit(event: Json) -> None:
        rate = settings.duplicate_webhook_rate
        duplicate = rate > 0 and duplicate_rng.random() < rate
        dispatcher.publish(event, copies=2 if duplicate else 1)

    book = PaymentBook(settings.public_url, emit, settings.decline_rate, decline_rng)
    api = Api(book, IdempotencyStore(), dispatcher.stats)
    app = web.Application(middlewares=middlewares(settings.api_key, settings.latency_ms))
    app.add_routes(api.routes())
    app.add_routes(Checkout(book).routes())

    async def start_dispatcher(_app: web.Application) -> None:
        await dispatcher.start()

    async def stop_dispatcher(_app: web.Application) -> None:
        await dispatcher.close()

    app.on_startup.append(start_dispatcher)
    app.on_cleanup.append(stop_dispatcher)
    return app


async def serve(settings: SimulatorSettings) -> None:
    """Listen until SIGTERM or SIGINT, then stop accepting, finish in-flight requests and close."""
    runner = web.AppRunner(build_app(settings), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=1024, shutdown_timeout=2.0)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    delivery = settings.webhook_url or "disabled"
    print(
        f"payment simulator listening on http://{settings.host}:{settings.port} "
        f"(webhooks: {delivery}; latency {settings.latency_ms} ms, decline rate {settings.decline_rate}, "
        f"duplicate webhook rate {settings.duplicate_webhook_rate}, seed {settings.seed})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        log.info("payment simulator stopping")
        await runner.cleanup()


def run(args: argparse.Namespace) -> None:
    """Entry point of `topup simulate payments` and `python -m topup.simulators.payments`."""
    settings = settings_from_args(args)
    if settings.webhook_url and not settings.webhook_secret:
        raise SystemExit("payment simulator: a webhook URL needs a webhook secret to sign with")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_number_masking()
    asyncio.run(serve(settings))
