"""A phone dialling a USSD code, as the operator's USSD gateway relays it: one signed callback per answer.

    topup simulate ussd --from +32470123456 --text '1'            # main menu, then 1 = balance
    topup simulate ussd --from +32470123456 --code '*121*<PIN>#'  # direct voucher code

It signs each request with the first of `TOPUP_USSD_GATEWAY_KEYS` (the way a configured gateway does),
posts it to `TOPUP_PUBLIC_URL/channels/ussd` and prints the answer (`CON …` more, `END …` done).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from urllib.parse import urlencode

import httpx

from topup.channels.gateway_auth import sign_body
from topup.settings import CONFIG

# How long a USSD gateway waits for the platform's answer before it ends the session (operators allow about
# 15 to 20 s per step); the platform may take seconds under load: not a reason to give up after 5.
TIMEOUT_S = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="phone", required=True, help="the caller's number, +32 4xx …")
    parser.add_argument("--text", default="", help="the answers so far joined by '*', e.g. '2*1234…'")
    parser.add_argument("--code", default="*111#", help="the service code dialled (default *111#)")
    parser.add_argument("--session", default="", help="the gateway's session id (default: a new one)")
    parser.add_argument("--url", default=CONFIG.public_url, help="the platform (TOPUP_PUBLIC_URL)")
    parser.add_argument("--key", default="", help="signing key (default: first of TOPUP_USSD_GATEWAY_KEYS)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT_S,
        help=f"seconds to wait for the answer (default {TIMEOUT_S:g})",
    )


def run(args: argparse.Namespace) -> None:
    """Post one signed callback and print the answer; SystemExit(1) when it is refused."""
    key = args.key or (CONFIG.ussd_gateway_keys[0] if CONFIG.ussd_gateway_keys else "")
    if not key:
        raise SystemExit("ussd: no key (TOPUP_USSD_GATEWAY_KEYS is empty: the USSD channel is off)")
    session = args.session or f"sim-{secrets.token_hex(6)}"
    form = {"sessionId": session, "serviceCode": args.code, "phoneNumber": args.phone, "text": args.text}
    body = urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"} | sign_body(key, body)
    url = f"{args.url.rstrip('/')}/channels/ussd"
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=args.timeout)
    except httpx.TimeoutException as exc:
        raise SystemExit(f"ussd: no answer from the platform within {args.timeout:g} s (--timeout)") from exc
    except httpx.HTTPError as exc:
        raise SystemExit(f"ussd: the platform is not reachable: {exc}") from exc
    if response.status_code != 200:
        print(f"refused ({response.status_code}): {response.text}", file=sys.stderr)
        raise SystemExit(1)
    print(response.text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.ussd_phone", description="A phone dialling a USSD code."
    )
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
