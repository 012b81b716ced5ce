"""Command line of the DT One DVS simulator: flags, then serve until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from topup.settings import CONFIG
from topup.simulators.carriers.faults import FaultError, Faults
from topup.simulators.dtone.app import build_app
from topup.simulators.dtone.outcomes import Clock, FaultBoard, settle
from topup.simulators.dtone.state import AccountState
from topup.simulators.dtone.store import StoredAccount
from topup.simulators.serving import serve_until_stopped

EPILOG = """\
environment: --port defaults to TOPUP_DTONE_PORT (else TOPUP_PORT + 7), --api-key and --api-secret to
TOPUP_DTONE_API_KEY and TOPUP_DTONE_API_SECRET (HTTP Basic); the platform reaches it at TOPUP_DTONE_URL.
Faults change at runtime with POST /sim/faults; the float with POST /sim/balance.
sandbox: numbers ending in [1-3]0[0-7] follow DT One's sandbox outcomes (see topup.simulators.dtone.outcomes).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=CONFIG.dtone_port, help="env TOPUP_DTONE_PORT")
    parser.add_argument("--api-key", default=CONFIG.dtone_api_key, help="env TOPUP_DTONE_API_KEY")
    parser.add_argument("--api-secret", default=CONFIG.dtone_api_secret, help="env TOPUP_DTONE_API_SECRET")
    parser.add_argument(
        "--float-minor", type=int, default=500_000, help="the account's float in cents (5000 EUR)"
    )
    parser.add_argument("--processing-ms", type=int, default=200, help="how long an operator takes (200)")
    parser.add_argument(
        "--sandbox-delay-scale",
        type=float,
        default=1.0,
        help="multiplies the sandbox's 3 s/20 s/5 min delays",
    )
    parser.add_argument("--confirm-ttl-s", type=float, default=3600.0, help="a CREATED transaction's life")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every DVS call (default 0)")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of creates and confirms answered 503"
    )
    parser.add_argument(
        "--timeout-rate",
        type=float,
        default=0.0,
        help="share of creates and confirms answered late; half applied",
    )
    parser.add_argument(
        "--timeout-sleep-s", type=float, default=30.0, help="how late a timed-out call answers"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault draws (reproducible runs)")
    parser.add_argument(
        "--state-file", type=Path, default=None,
        help="SQLite file keeping transactions, lines and the float across restarts (default: in memory)",
    )  # fmt: skip


async def serve(args: argparse.Namespace) -> None:
    try:
        faults = FaultBoard(
            Faults(args.latency_ms, args.error_rate, args.timeout_rate), args.timeout_sleep_s, args.seed
        )
    except FaultError as exc:
        raise SystemExit(f"dtone simulator: {exc}") from exc
    state = (
        StoredAccount(args.float_minor, args.confirm_ttl_s, args.state_file)
        if args.state_file
        else AccountState(args.float_minor, args.confirm_ttl_s)
    )
    clock = Clock(processing_s=args.processing_ms / 1000, sandbox_delay_scale=args.sandbox_delay_scale)
    app = build_app(state, faults, clock, args.api_key, args.api_secret)
    for tx in list(state.transactions.values()):  # confirmed before a restart: the operator goes on
        if tx.status_class in {"CONFIRMED", "SUBMITTED"}:
            settle(state, clock, tx)
    try:
        await serve_until_stopped(
            app, args.host, args.port, lambda at: f"DT One DVS simulator listening on {at}"
        )
    finally:
        if isinstance(state, StoredAccount):
            state.close()


def run(args: argparse.Namespace) -> None:
    asyncio.run(serve(args))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.dtone",
        description="DT One DVS simulator: Belgian airtime and data bundles through an aggregator's API.",
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
