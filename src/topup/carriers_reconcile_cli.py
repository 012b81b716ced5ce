"""`topup reconcile carriers [--date D]`: aggregator sales against our deliveries; exit 1 if any differ."""

from __future__ import annotations

import argparse
import sys
from datetime import date


def add_reconcile_carriers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `carriers` under the `reconcile` group's subcommands."""
    carriers = subparsers.add_parser(
        "carriers", help="an aggregator's (DT One's) transactions against delivered orders, by order"
    )
    carriers.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="the day in Brussels, YYYY-MM-DD (default today)",
    )
    carriers.set_defaults(func=run_reconcile_carriers)


def run_reconcile_carriers(args: argparse.Namespace) -> None:
    from topup.process import start_django  # noqa: PLC0415

    start_django()
    from topup.ports import PortUnavailable  # noqa: PLC0415
    from topup.services.reconcile import today  # noqa: PLC0415
    from topup.services.reconcile_carriers import reconcile  # noqa: PLC0415

    day = args.date or today()
    try:
        found = reconcile(day)
    except PortUnavailable as exc:
        sys.stderr.write(f"reconcile carriers {day}: the aggregator could not be read: {exc}\n")
        raise SystemExit(2) from exc
    sys.stdout.writelines(f"{mismatch}\n" for mismatch in found)
    sys.stdout.write(f"reconcile carriers {day}: {len(found)} mismatch(es)\n")
    raise SystemExit(1 if found else 0)
