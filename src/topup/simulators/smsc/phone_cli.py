"""`topup simulate sms --from +32470123456 --text SALDO`: one phone sends an SMS through the SMSC simulator
and prints what the platform answers. It stops `--wait-s` after sending, or once a reply came and a second
passed without another. Exit status 0 when a reply came, 1 when none did.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Final

import httpx

from topup.settings import CONFIG

QUIET_AFTER_REPLY_S: Final = 1.0
POLL_S: Final = 0.2


def _default_url() -> str:
    return f"http://{CONFIG.smsc_host}:{CONFIG.smsc_http_port}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="sender", required=True, help="the phone's number, e.g. +32470123456")
    parser.add_argument("--text", required=True, help="the message, e.g. 'SALDO'")
    parser.add_argument("--to", default=None, help="destination (default: the SMSC's short code)")
    parser.add_argument(
        "--smsc-http",
        default=_default_url(),
        help="SMSC simulator HTTP side (TOPUP_SMSC_HOST, TOPUP_SMSC_HTTP_PORT)",
    )
    parser.add_argument("--wait-s", type=float, default=5.0, help="how long to wait for replies (5)")


def _inbox(client: httpx.Client, phone: str, since: int) -> dict[str, Any]:
    response = client.get(f"/phones/{phone}/inbox", params={"since": since})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def run(args: argparse.Namespace) -> None:
    with httpx.Client(base_url=args.smsc_http, timeout=5.0) as client:
        try:
            since = int(_inbox(client, args.sender, 0)["last_seq"])
            body = {"text": args.text} | ({"to": args.to} if args.to else {})
            client.post(f"/phones/{args.sender}/send", json=body).raise_for_status()
        except httpx.HTTPError as exc:
            raise SystemExit(f"cannot reach the SMSC simulator at {args.smsc_http}: {exc}") from exc
        print(f"{args.sender} → {args.to or 'short code'}: {args.text}", flush=True)
        deadline = time.monotonic() + args.wait_s
        last_reply_at: float | None = None
        while time.monotonic() < deadline:
            for message in _inbox(client, args.sender, since)["messages"]:
                since = max(since, int(message["seq"]))
                print(f"{message['from']} → {args.sender}: {message['text']}", flush=True)
                last_reply_at = time.monotonic()
            if last_reply_at is not None and time.monotonic() - last_reply_at >= QUIET_AFTER_REPLY_S:
                break
            time.sleep(POLL_S)
    if last_reply_at is None:
        print(f"no reply within {args.wait_s:g} s", flush=True)
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.smsc.phone_cli",
        description="Send one SMS from a simulated phone and print the platform's replies.",
    )
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
