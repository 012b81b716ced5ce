"""Command line of the SM-DP+ simulator: flags, then serve until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from topup.settings import CONFIG
from topup.simulators.serving import serve_until_stopped
from topup.simulators.smdp.app import build_app
from topup.simulators.smdp.context import Context
from topup.simulators.smdp.faults import FaultBoard, FaultError, Faults
from topup.simulators.smdp.notifier import ProgressNotifier
from topup.simulators.smdp.state import SmdpState

DEFAULT_CALLBACK_URL = f"{CONFIG.public_url}/gsma/rsp2/es2plus/handleDownloadProgressInfo"
EPILOG = """\
defaults come from the platform's settings: TOPUP_SMDP_PORT (TOPUP_PORT+3), TOPUP_SMDP_API_KEY,
TOPUP_SMDP_CALLBACK_KEY and TOPUP_PUBLIC_URL for the callback.
Faults change at runtime with POST /admin/faults, pools with POST /admin/pool {"profileType", "count"}.
Notification points sent (SGP.22): 1 eligibility, 3 BPP download, 4 BPP installation, 5 deletion."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=CONFIG.smdp_port, help="default TOPUP_SMDP_PORT")
    parser.add_argument("--api-key", default=CONFIG.smdp_api_key, help="operator's bearer key")
    parser.add_argument("--callback-url", default=DEFAULT_CALLBACK_URL, help="HandleDownloadProgressInfo URL")
    parser.add_argument("--callback-key", default=CONFIG.smdp_callback_key, help="bearer key of callbacks")
    parser.add_argument("--smdp-address", default="smdp.topup.test", help="FQDN in activation codes")
    parser.add_argument(
        "--pool", action="append", default=[], metavar="TYPE:COUNT", help="pool size (default BE-DATA:200)"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every ES2+ call (default 0)")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of ES2+ calls answered 503")
    parser.add_argument("--step-delay-ms", type=int, default=50, help="pause between download steps (50)")
    parser.add_argument("--seed", type=int, default=None, help="seed of ICCIDs, matching ids and faults")
    parser.add_argument("--state-file", type=Path, default=None, help="SQLite file keeping the profiles")


def parse_pools(specs: list[str]) -> dict[str, int]:
    """`["BE-DATA:200", ...]` -> `{"BE-DATA": 200}`; BE-DATA:200 when none is given."""
    pools: dict[str, int] = {}
    for spec in specs or ["BE-DATA:200"]:
        profile_type, _, count = spec.rpartition(":")
        if not profile_type or not count.isdigit():
            raise SystemExit(f"smdp simulator: --pool expects TYPE:COUNT, got {spec!r}")
        pools[profile_type] = int(count)
    return pools


def build_context(args: argparse.Namespace) -> Context:
    try:
        faults = FaultBoard(Faults(args.latency_ms, args.error_rate, 0, args.step_delay_ms), args.seed)
    except FaultError as exc:
        raise SystemExit(f"smdp simulator: {exc}") from exc
    state = SmdpState(args.seed, args.state_file)
    if state.empty:
        for profile_type, count in parse_pools(args.pool).items():
            state.add_profiles(profile_type, count)
    notifier = ProgressNotifier(args.callback_url, args.callback_key, args.smdp_address)
    return Context(state, faults, notifier, args.smdp_address)


async def serve(args: argparse.Namespace) -> None:
    """Listen until SIGTERM/SIGINT, then stop: undelivered notifications are dropped (and logged)."""
    ctx = build_context(args)
    pools = ", ".join(f"{name}:{sizes['total']}" for name, sizes in ctx.state.pools().items())
    try:
        await serve_until_stopped(
            build_app(ctx, args.api_key), args.host, args.port,
            lambda at: f"SM-DP+ simulator {args.smdp_address} listening on {at} ({pools})",
        )  # fmt: skip
    finally:
        ctx.state.close()


def run(args: argparse.Namespace) -> None:
    asyncio.run(serve(args))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.smdp", description="SM-DP+ simulator speaking ES2+ (GSMA SGP.22)."
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
