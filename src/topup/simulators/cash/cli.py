"""Command line of the cash acceptor simulator: flags, then serve until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio

from topup.settings import CONFIG
from topup.simulators.cash.app import Reporting, build_app
from topup.simulators.serving import serve_until_stopped

# The demo kiosk terminal's published credentials, as `services/retail_seed.py` seeds them (a unit test
# keeps the two equal; that module needs Django, which this command line does not start).
DEMO_KIOSK_TERMINAL_ID = "trm_demo_kiosk"
DEMO_KIOSK_SECRET = "demo-kiosk-secret-published-in-the-readme"  # noqa: S105 - the demo's, published

EPILOG = """\
environment: --port defaults to TOPUP_CASH_PORT (else TOPUP_PORT + 8); the platform reaches it at
TOPUP_CASH_URL. --terminal and --secret are the kiosk terminal's credentials (`topup retail terminal
RETAILER --kind kiosk` prints them once). Insert money with:
  curl -XPOST localhost:8008/_sim/insert -d '{"amount_minor": 2000}'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=CONFIG.cash_port, help="env TOPUP_CASH_PORT")
    parser.add_argument(
        "--callback-url",
        default=f"{CONFIG.public_url}/kiosk/cash/events",
        help="where accepted notes and coins are reported (the platform's /kiosk/cash/events)",
    )
    parser.add_argument("--terminal", default=DEMO_KIOSK_TERMINAL_ID, help="the kiosk terminal's id (trm_…)")
    parser.add_argument("--secret", default=DEMO_KIOSK_SECRET, help="the kiosk terminal's signing secret")


async def serve(args: argparse.Namespace) -> None:
    app = build_app(Reporting(args.callback_url, args.terminal, args.secret))
    await serve_until_stopped(
        app, args.host, args.port, lambda at: f"cash acceptor simulator listening on {at}"
    )


def run(args: argparse.Namespace) -> None:
    asyncio.run(serve(args))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.cash",
        description="A kiosk's cash acceptor: notes and coins reported to the platform as signed events.",
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
