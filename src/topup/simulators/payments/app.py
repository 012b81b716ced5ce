"""Assemble the payment simulator's aiohttp application and run it until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal
from collections.abc import Callable

from aiohttp import web

from topup.logs import install_number_masking
from topup.simulators.payments.admin import Admin
from topup.simulators.payments.api import Api, middlewares
from topup.simulators.payments.checkout import Checkout
from topup.simulators.payments.config import SimulatorSettings, settings_from_args
from topup.simulators.payments.customers import SavedCards
from topup.simulators.payments.endpoints import WebhookEndpoints, parse_events
from topup.simulators.payments.errors import Json, SimulatorError
from topup.simulators.payments.idempotency import IdempotencyStore
from topup.simulators.payments.objects import event_json
from topup.simulators.payments.records import new_id
from topup.simulators.payments.state import PaymentBook
from topup.simulators.payments.store import BookStore
from topup.simulators.payments.terminal import TerminalReaders

log = logging.getLogger("topup.simulators.payments")
MAX_HOLD_BACK_S = 2.0


def build_app(settings: SimulatorSettings) -> web.Application:
    """The application with its book, idempotency store, webhook dispatcher and admin surface.

    Each kind of fault draws from its own PRNG derived from the seed, so that adding traffic of one
    kind does not shift the draws of the other.
    """
    master = random.Random(settings.seed)
    book_rng, api_rng, webhook_rng = (random.Random(master.getrandbits(64)) for _ in range(3))
    faults = settings.faults

    def emit(event_type: str, obj: Json, request_key: str | None) -> None:
        event = event_json(new_id("evt"), event_type, obj, book.now(), request_key)
        event["pending_webhooks"] = len(endpoints.subscribers(event_type))
        admin.record(event)
        duplicate = faults.duplicate_webhook_rate > 0 and webhook_rng.random() < faults.duplicate_webhook_rate
        held = faults.reorder_webhook_rate > 0 and webhook_rng.random() < faults.reorder_webhook_rate
        delay_s = webhook_rng.uniform(0.2, MAX_HOLD_BACK_S) if held else 0.0
        endpoints.publish(event, copies=2 if duplicate else 1, delay_s=delay_s)

    def schedule(delay_s: float, then: Callable[[], None]) -> None:
        asyncio.get_running_loop().call_later(delay_s, then)

    store = BookStore(settings.state_file) if settings.state_file else None
    book = PaymentBook(settings.public_url, emit, schedule, faults, book_rng, store=store)
    endpoints = WebhookEndpoints(book.now, store)
    if settings.webhook_url:
        endpoints.ensure(settings.webhook_url, settings.webhook_secret, settings.webhook_events)
    admin = Admin(book, endpoints, store)
    app = web.Application(middlewares=middlewares(settings.api_key))
    api = Api(book, IdempotencyStore(keeping=store), api_rng)
    saved = SavedCards(book, api._write)
    api.for_customer, api.require_customer = saved.create_intent, saved.require_customer
    app.add_routes(api.routes())
    app.add_routes(saved.routes())  # Customers, saved cards and off-session charges
    app.add_routes(Checkout(book).routes())
    app.add_routes(admin.routes())
    app.add_routes(TerminalReaders(book, emit).routes())  # Stripe Terminal: card-present readers
    app.add_routes(endpoints.routes(api._write, api._read_only))  # Stripe's webhook endpoints

    async def start_dispatcher(_app: web.Application) -> None:
        await endpoints.start()
        book.resume()  # what a restart interrupted (a payment being confirmed, a pending refund)

    async def stop_dispatcher(_app: web.Application) -> None:
        await endpoints.close()
        if store is not None:
            store.close()

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
    print(
        f"payment simulator (Stripe API) listening on http://{settings.host}:{settings.port} "
        f"(webhooks: {settings.webhook_url or 'disabled'}, events {','.join(settings.webhook_events)}; "
        f"faults {settings.faults.as_json()}; "
        f"seed {settings.seed})",
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
    try:
        parse_events(settings.webhook_events, "--webhook-events")
    except SimulatorError as exc:
        raise SystemExit(f"payment simulator: {exc.message}") from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_number_masking()
    asyncio.run(serve(settings))
