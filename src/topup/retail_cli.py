"""`topup retail`: staff register shops: a retailer, its commissions and terminals, float top-ups by bank.

topup retail create "Nachtwinkel Anspach" --vat BE0123456789 --credit 200.00
topup retail terminal rtl_… --label "till 1" [--kind pos|kiosk]     # prints the secret once
topup retail float-topup rtl_… 500.00 --reference "BE-2026-12-04-0042"
topup retail commission rtl_… --network proximus --bps 300
topup retail list
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from topup.process import start_django


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="retail_action", required=True)
    create = actions.add_parser("create", help="register a retailer (a shop or a chain)")
    create.add_argument("name")
    create.add_argument("--vat", default="", help="its VAT number, printed on receipts (BE0123456789)")
    create.add_argument(
        "--credit", default="0", help="credit limit in euros: the float may go this far below 0"
    )
    create.add_argument("--address", action="append", default=[], help="an address line (repeat)")
    create.add_argument("--language", default="nl", help="en, nl, fr, de or zh-hans")
    terminal = actions.add_parser("terminal", help="register a terminal; its secret is printed once")
    terminal.add_argument("retailer")
    terminal.add_argument("--label", required=True)
    terminal.add_argument("--kind", choices=("pos", "kiosk"), default="pos")
    topup = actions.add_parser("float-topup", help="credit a bank transfer to a float (once per reference)")
    topup.add_argument("retailer")
    topup.add_argument("amount", help="in euros, e.g. 500.00")
    topup.add_argument("--reference", required=True, help="the bank transfer's reference")
    topup.add_argument("--by", default="", help="the staff member recording it (default: the OS user)")
    commission = actions.add_parser("commission", help="set a commission (plan over network over default)")
    commission.add_argument("retailer")
    commission.add_argument("--network", default="")
    commission.add_argument("--plan", default="")
    commission.add_argument("--bps", type=int, required=True, help="basis points: 300 = 3 %%")
    actions.add_parser("list", help="retailers with their float and terminals")


def run(args: argparse.Namespace) -> None:
    start_django()
    from topup.domain.errors import DomainError  # noqa: PLC0415

    try:
        _run(args)
    except DomainError as error:
        raise SystemExit(f"retail: {error.code}: {error.message}") from None


def _run(args: argparse.Namespace) -> None:
    from topup.services import retail_admin  # noqa: PLC0415

    out = sys.stdout
    if args.retail_action == "create":
        retailer = retail_admin.create_retailer(
            args.name, vat_number=args.vat, credit_limit_minor=_euros(args.credit),
            address_lines=tuple(args.address), language=args.language,
        )  # fmt: skip
        out.write(f"{retailer.id}\n")
    elif args.retail_action == "terminal":
        made = retail_admin.create_terminal(args.retailer, args.label, kind=args.kind)
        out.write("terminal id and secret (shown once: type them into the terminal now):\n")
        out.write(f"{made.terminal_id}\n{made.secret}\n")
    elif args.retail_action == "float-topup":
        by = args.by or getpass.getuser()
        topup_id, new = retail_admin.float_topup(
            args.retailer, _euros(args.amount), bank_reference=args.reference, recorded_by=by
        )
        out.write(f"{topup_id} {'recorded' if new else 'already recorded'}\n")
    elif args.retail_action == "commission":
        retail_admin.set_commission(args.retailer, args.bps, network_id=args.network, plan_id=args.plan)
        out.write("commission set\n")
    else:
        out.write(json.dumps(retail_admin.retailers(), indent=2, ensure_ascii=False) + "\n")


def _euros(text: str) -> int:
    from topup.domain.money import parse_money  # noqa: PLC0415

    return parse_money(text, "EUR").amount_minor
