"""`topup agents`: create an agent console account (its password printed once, TOTP URI and QR), and
verify the audit log's hash chain."""

from __future__ import annotations

import argparse
import sys

from topup.process import start_django


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="agents_action", required=True)
    create = actions.add_parser(
        "create", help="create an agent: prints its password (once) and the TOTP setup"
    )
    create.add_argument("username")
    create.add_argument("--role", default="agent", help="agent, supervisor or admin")
    create.add_argument("--refund-limit", default="0", help="refunds and goodwill up to this (EUR) alone")
    create.add_argument("--counter", default="main", help="the shop counter whose cash drawer they use")
    create.add_argument("--no-qr", action="store_true", help="do not draw the QR code in the terminal")
    actions.add_parser("audit-verify", help="check the audit log's hash chain; exit 1 when broken")


def run(args: argparse.Namespace) -> None:
    start_django()
    from topup.domain.errors import DomainError  # noqa: PLC0415
    from topup.services import agent_audit, agent_auth  # noqa: PLC0415

    if args.agents_action == "audit-verify":
        count, broken = agent_audit.verify()
        if broken is not None:
            sys.stdout.write(f"audit log BROKEN at row {broken} ({count} rows)\n")
            sys.exit(1)
        sys.stdout.write(f"audit log intact: {count} rows\n")
        return
    try:
        made = agent_auth.create_agent(args.username, args.role, args.refund_limit, args.counter)
    except DomainError as exc:
        sys.stderr.write(f"refused: {exc.code}: {exc}\n")
        sys.exit(2)
    sys.stdout.write(f"agent {made.username} created ({args.role}, refund limit EUR {args.refund_limit})\n")
    sys.stdout.write(f"password (shown once, not stored in clear): {made.password}\n")
    sys.stdout.write(f"TOTP provisioning URI (add it to an authenticator app): {made.provisioning_uri}\n")
    if not args.no_qr:
        import segno  # noqa: PLC0415

        segno.make_qr(made.provisioning_uri).terminal(compact=True)
