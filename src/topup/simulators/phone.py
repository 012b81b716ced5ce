"""A simulated phone: scan an activation code and have the SM-DP+ simulator download and install the profile.

    topup simulate phone --activation-code 'LPA:1$smdp.topup.test$XXXXX-...' [--eid ...] [--smdp-url ...]
    python -m topup.simulators.phone --activation-code ...

It asks the simulator's phone hook (`POST /sim/download`, standing in for ES9+) and prints each step the
answer lists: eligibility, download, installation. Exit status 1 when the download is refused.
"""

from __future__ import annotations

import argparse
import sys

import httpx

from topup.settings import CONFIG

DEFAULT_EID = "89049032123451234512345678901235"  # a valid test EID (identifiers.md)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--activation-code", required=True, help="LPA:1$<SM-DP+ address>$<matching id>")
    parser.add_argument("--eid", default=DEFAULT_EID, help=f"the phone's EID (default {DEFAULT_EID})")
    parser.add_argument(
        "--smdp-url", default=CONFIG.smdp_url, help="SM-DP+ simulator (TOPUP_SMDP_URL, or TOPUP_PORT+3)"
    )
    parser.add_argument("--timeout-s", type=float, default=30.0, help="how long to wait for the install")


def run(args: argparse.Namespace) -> None:
    """Download and install the profile, printing each step; SystemExit(1) when refused."""
    body = {"activation_code": args.activation_code, "eid": args.eid}
    try:
        response = httpx.post(f"{args.smdp_url.rstrip('/')}/sim/download", json=body, timeout=args.timeout_s)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SystemExit(f"phone: SM-DP+ not reachable or answer unreadable: {exc}") from exc
    if response.status_code != 200:
        codes = f" ({answer['subjectCode']}/{answer['reasonCode']})" if "subjectCode" in answer else ""
        print(f"download refused: {answer.get('error')}{codes}: {answer.get('message')}", file=sys.stderr)
        raise SystemExit(1)
    print(f"profile {answer['iccid']} ({answer['profileType']}) for EID {answer['eid']}")
    for step in answer["steps"]:
        point = step["notificationPointId"]
        print(f"  {step['at']}  {step['step']:<13} -> {step['state']} (notification point {point})")
    print(f"installed: {answer['iccid']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.phone", description="Simulated phone: install an eSIM profile."
    )
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
