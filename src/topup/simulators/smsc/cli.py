"""Command line of the SMSC simulator: flags, then serve SMPP and HTTP until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from aiohttp import web

from topup.logs import install_number_masking
from topup.settings import CONFIG
from topup.simulators.smsc.app import build_app
from topup.simulators.smsc.session import Smsc
from topup.simulators.smsc.state import SmscState

EPILOG = """\
Defaults come from the platform's settings: TOPUP_SMSC_PORT (TOPUP_PORT+4), TOPUP_SMSC_HTTP_PORT (+5),
TOPUP_SMSC_SYSTEM_ID and TOPUP_SMSC_PASSWORD. The platform binds as an ESME; phones are driven over HTTP
(POST /phones/{msisdn}/send, GET /phones/{msisdn}/inbox) or `topup simulate sms`; POST /admin/unbind
makes the SMSC unbind every bound ESME."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--smpp-port", type=int, default=CONFIG.smsc_port, help="TOPUP_SMSC_PORT")
    parser.add_argument("--http-port", type=int, default=CONFIG.smsc_http_port, help="TOPUP_SMSC_HTTP_PORT")
    parser.add_argument("--system-id", default=CONFIG.smsc_system_id, help="system_id an ESME must bind with")
    parser.add_argument("--password", default=CONFIG.smsc_password, help="password an ESME must bind with")
    parser.add_argument("--short-code", default=CONFIG.sms_short_code, help="destination of phone messages")
    parser.add_argument(
        "--receipt-delay-ms", type=int, default=200, help="delay before a delivery receipt (200)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of message ids (reproducible runs)")


async def serve(args: argparse.Namespace) -> None:
    """Listen until SIGTERM/SIGINT, then close every ESME connection and stop."""
    smsc = Smsc(
        SmscState(args.seed), args.system_id, args.password, args.short_code, args.receipt_delay_ms / 1000
    )
    runner = web.AppRunner(build_app(smsc), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    server = await asyncio.start_server(smsc.handle, args.host, args.smpp_port)
    try:
        site = web.TCPSite(runner, args.host, args.http_port)
        await site.start()
        print(f"SMSC simulator: SMPP on {args.host}:{args.smpp_port}, phones on {site.name}", flush=True)
        await stopping.wait()
    finally:
        server.close()
        smsc.close_all()
        await server.wait_closed()
        await runner.cleanup()


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_number_masking()
    asyncio.run(serve(args))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.smsc",
        description="SMSC simulator: an SMPP 3.4 server for the platform and an HTTP side playing phones.",
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
