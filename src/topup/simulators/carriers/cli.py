"""Command line of the carrier simulator: flags, then serve until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from topup.settings import CONFIG
from topup.simulators.carriers.app import build_app
from topup.simulators.carriers.faults import FaultBoard, FaultError, Faults, parse_fault_spec
from topup.simulators.carriers.numbering import NETWORKS
from topup.simulators.carriers.state import CarrierState
from topup.simulators.serving import serve_until_stopped

EPILOG = """\
environment: --port defaults to TOPUP_CARRIERS_PORT (else TOPUP_PORT + 2) and --api-key to
TOPUP_CARRIER_API_KEY, both read by topup.settings; the platform reaches the simulator at TOPUP_CARRIERS_URL.
Fault flags have no environment variable: change them at runtime with POST /v1/admin/faults.
networks: """ + ", ".join(NETWORKS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=CONFIG.carriers_port, help="env TOPUP_CARRIERS_PORT")
    parser.add_argument(
        "--api-key", default=CONFIG.carrier_api_key, help="bearer key; env TOPUP_CARRIER_API_KEY"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every network call (default 0)")
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of top-ups, activations and purchases answered 503 (0.0)",
    )
    parser.add_argument(
        "--timeout-rate",
        type=float,
        default=0.0,
        help="share of top-ups, activations and purchases answered late; half applied (0.0)",
    )
    parser.add_argument(
        "--timeout-sleep-s", type=float, default=30.0, help="how late a timed-out top-up answers (30)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NETWORK:LATENCY_MS:ERROR_RATE:TIMEOUT_RATE",
        help="per-network override, repeatable",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault draws (reproducible runs)")
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="SQLite file keeping lines, top-ups, activations and bundles across restarts",
    )


def _fault_board(args: argparse.Namespace) -> FaultBoard:
    try:
        default = Faults(args.latency_ms, args.error_rate, args.timeout_rate)
        overrides = dict(parse_fault_spec(spec) for spec in args.fault)
    except FaultError as exc:
        raise SystemExit(f"carrier simulator: {exc}") from exc
    return FaultBoard(default, overrides, args.seed)


async def serve(args: argparse.Namespace) -> None:
    """Listen until SIGTERM/SIGINT, then stop at once: late answers still sleeping are dropped."""
    faults = _fault_board(args)
    state = CarrierState(args.state_file)
    app = build_app(state, faults, args.api_key, args.timeout_sleep_s)
    try:
        await serve_until_stopped(
            app,
            args.host,
            args.port,
            lambda at: f"carrier simulator listening on {at} ({', '.join(NETWORKS)})",
        )
    finally:
        state.close()


def run(args: argparse.Namespace) -> None:
    asyncio.run(serve(args))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.carriers",
        description="Carrier simulator: top-up gateways of Proximus, Orange Belgium, BASE and Telenet.",
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
