"""A shop's POS terminal on the command line: it signs every request the way a real terminal does.

    topup simulate pos --url http://127.0.0.1:8000 --terminal trm_… --secret … catalogue
    topup simulate pos … open --float 50.00
    topup simulate pos … sell --ref T1-0001 --plan proximus-credit-10 --msisdn 0470123456 --cash 20.00
    topup simulate pos … sell --ref T1-0002 --plan orange-credit-10 --pin --card
    topup simulate pos … status T1-0001 | void T1-0001 | receipt T1-0001 --format text
    topup simulate pos … cash paid_in 20.00 --note bank | x | z --counted 63.50 [--reason "…"]

Prints the answer (JSON, or the receipt's text/bytes); exits 1 when the platform refuses the request.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from typing import Any

import httpx

from topup.domain.money import parse_money
from topup.domain.terminal_signing import SignedRequest, sign
from topup.settings import CONFIG


class PosClient:
    """The terminal's side of `/api/v1/pos`: a fresh nonce and the current time signed into each call."""

    def __init__(self, url: str, terminal_id: str, secret: str, *, timeout_s: float = 30.0) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s)
        self.terminal_id, self.secret = terminal_id, secret

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        raw = b"" if body is None else json.dumps(body).encode()
        full = f"/api/v1/pos{path}"
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {
            "X-Terminal-Id": self.terminal_id, "X-Timestamp": timestamp, "X-Nonce": nonce,
            "X-Signature": sign(self.secret, SignedRequest(method, full, timestamp, nonce, raw)),
        }  # fmt: skip
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, full, content=raw, headers=headers)

    def close(self) -> None:
        self.http.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=CONFIG.public_url, help="the platform (TOPUP_PUBLIC_URL)")
    parser.add_argument("--terminal", required=True, help="the terminal id (trm_…)")
    parser.add_argument("--secret", required=True, help="the terminal's secret, shown when it was registered")
    parser.add_argument("--language", default="en", help="Accept-Language of the answers")
    actions = parser.add_subparsers(dest="pos_action", required=True)
    actions.add_parser("catalogue", help="the plans with this shop's commission")
    opening = actions.add_parser("open", help="open a shift")
    opening.add_argument("--float", dest="opening", default=None, help="cash in the drawer (default: last Z)")
    opening.add_argument("--by", default="clerk")
    sell = actions.add_parser("sell", help="sell a direct top-up (--msisdn) or a PIN (--pin)")
    sell.add_argument("--ref", required=True, help="this terminal's unique reference for the sale")
    sell.add_argument("--plan", required=True)
    sell.add_argument("--msisdn", default="")
    sell.add_argument("--pin", action="store_true", help="sell a voucher PIN instead of a direct top-up")
    sell.add_argument("--card", action="store_true", help="paid by card (default cash)")
    sell.add_argument("--cash", default=None, help="cash handed over, e.g. 20.00 (change is computed)")
    sell.add_argument("--customer-language", default="en")
    for name in ("status", "void", "receipt"):
        action = actions.add_parser(name, help=f"{name} of a sale by its reference")
        action.add_argument("ref")
        if name == "receipt":
            action.add_argument("--format", choices=("json", "text", "escpos", "pdf"), default="text")
    cash = actions.add_parser("cash", help="cash paid into or out of the drawer")
    cash.add_argument("kind", choices=("paid_in", "paid_out"))
    cash.add_argument("amount", help="e.g. 20.00")
    cash.add_argument("--note", default="")
    actions.add_parser("x", help="the X report of the open shift")
    z = actions.add_parser("z", help="close the shift with the counted cash (the Z report)")
    z.add_argument("--counted", required=True, help="the cash counted in the drawer, e.g. 63.50")
    z.add_argument("--reason", default="", help="why the counted cash differs from the expected cash")


def _cents(text: str | None) -> int | None:
    return None if text is None else parse_money(text, "EUR").amount_minor


def request_for(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    """The method, path and body of the subcommand."""
    action = args.pos_action
    if action == "catalogue":
        return "GET", "/catalogue", None
    if action == "open":
        return "POST", "/shifts", {"opened_by": args.by, "opening_float_minor": _cents(args.opening)}
    if action == "sell":
        body = {
            "terminal_ref": args.ref, "plan_id": args.plan, "kind": "pin" if args.pin else "direct",
            "msisdn": args.msisdn, "tender": "card" if args.card else "cash",
            "cash_given_minor": _cents(args.cash), "language": args.customer_language,
        }  # fmt: skip
        return "POST", "/sales", body
    if action == "status":
        return "GET", f"/sales/{args.ref}", None
    if action == "void":
        return "POST", f"/sales/{args.ref}/void", {}
    if action == "receipt":
        return "GET", f"/sales/{args.ref}/receipt?format={args.format}", None
    if action == "cash":
        return (
            "POST",
            "/shifts/current/cash",
            {"kind": args.kind, "amount_minor": _cents(args.amount), "note": args.note},
        )
    if action == "x":
        return "GET", "/shifts/current/x", None
    return "POST", "/shifts/current/z", {"counted_cash_minor": _cents(args.counted), "reason": args.reason}


def run(args: argparse.Namespace) -> None:
    client = PosClient(args.url, args.terminal, args.secret)
    client.http.headers["Accept-Language"] = args.language
    try:
        method, path, body = request_for(args)
        answer = client.call(method, path, body)
    finally:
        client.close()
    content_type = answer.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        sys.stdout.write(json.dumps(answer.json(), indent=2, ensure_ascii=False) + "\n")
    elif content_type.startswith("text/"):
        sys.stdout.write(answer.text)
    else:
        sys.stdout.buffer.write(answer.content)
    if answer.status_code >= 400:
        raise SystemExit(1)
