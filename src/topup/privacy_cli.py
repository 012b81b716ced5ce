"""`topup privacy export|erase|purge` (GDPR and retention) and `topup keys rotate` (personal data keys)."""

from __future__ import annotations

import argparse
import json
import sys

from topup.process import start_django


def add_privacy_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="privacy_action", required=True)
    for name, help_text in (
        ("export", "print everything we keep about a person as JSON"),
        ("erase", "erase a person's personal data (orders, amounts and the ledger stay whole)"),
    ):
        action = actions.add_parser(name, help=help_text)
        who = action.add_mutually_exclusive_group(required=True)
        who.add_argument("--msisdn", help="the person's number, e.g. +32470123456 or 0470 12 34 56")
        who.add_argument("--email", help="the person's e-mail address")
        if name == "erase":
            action.add_argument(
                "--yes", action="store_true", help="really erase (nothing is erased without it)"
            )
    actions.add_parser("purge", help="purge what is past its retention (TOPUP_RETENTION_*_DAYS)")


def add_keys_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="keys_action", required=True)
    rotate = actions.add_parser("rotate", help="re-encrypt personal data with the first TOPUP_DATA_KEYS key")
    rotate.add_argument("--batch", type=int, default=500)


def _django() -> None:
    start_django()


def run_privacy(args: argparse.Namespace) -> None:
    _django()
    from topup.clock import now  # noqa: PLC0415
    from topup.services import privacy, retention  # noqa: PLC0415

    if args.privacy_action == "purge":
        sys.stdout.write(json.dumps(retention.purge(now())) + "\n")
        return
    from topup.domain.errors import DomainError  # noqa: PLC0415

    try:
        person = privacy.Person.find(msisdn=args.msisdn, email=args.email)
    except DomainError as exc:
        sys.exit(f"{exc.code}: {exc}")
    if args.privacy_action == "export":
        sys.stdout.write(json.dumps(privacy.export(person), indent=2, ensure_ascii=False) + "\n")
        return
    if not args.yes:
        sys.exit("erase changes data for good: add --yes")
    sys.stdout.write(json.dumps(privacy.erase(person, now())) + "\n")


def run_keys(args: argparse.Namespace) -> None:
    _django()
    from topup.services import privacy  # noqa: PLC0415

    counts = privacy.rotate_keys(batch=args.batch)
    sys.stdout.write(json.dumps({"rewritten": counts, "total": sum(counts.values())}) + "\n")
