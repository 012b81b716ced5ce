"""`topup promotions`: staff look at the campaigns and hand out codes (the back office does the rest).

topup promotions list                                        # campaigns, codes, uses, budget
topup promotions create-code SPRING10 --campaign cmp_… [--max-uses 100]
"""

from __future__ import annotations

import argparse
import json
import sys

from topup.process import start_django


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="promotions_action", required=True)
    actions.add_parser("list", help="campaigns with their codes, uses and budget (JSON lines)")
    code = actions.add_parser("create-code", help="a code for a campaign (upper case; once, or N uses)")
    code.add_argument("code")
    code.add_argument("--campaign", required=True, help="the campaign's id (see `list`)")
    code.add_argument(
        "--max-uses", type=int, default=None, help="how often it may be redeemed (1: single use)"
    )


def run(args: argparse.Namespace) -> None:
    start_django()
    from topup.domain.errors import DomainError  # noqa: PLC0415
    from topup.services import promotion_admin  # noqa: PLC0415

    try:
        if args.promotions_action == "list":
            for line in promotion_admin.listing():
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            created = promotion_admin.create_code(args.code, args.campaign, max_uses=args.max_uses)
            sys.stdout.write(f"{created}\n")
    except DomainError as error:
        raise SystemExit(f"promotions: {error.code}: {error.message}") from None
