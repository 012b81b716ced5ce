"""`topup reconcile payments|carriers [--date D]`: an outside party's records of a day against ours.

Both commands answer alike: each mismatch on a line of its own (`order  kind  party: detail`), then
`reconcile WHAT DAY: no mismatches` (exit 0) or `... N mismatch(es)` (exit 1); a party that cannot be read
is one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

EXIT_CLEAN, EXIT_MISMATCHES, EXIT_UNREADABLE = 0, 1, 2


FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(9998, 12, 30)


def add_reconcile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `reconcile` group and its two commands."""
    reconcile = sub.add_parser(
        "reconcile",
        help="compare outside parties' records with ours; exit 1 if any differ, 2 if they cannot be read",
    )
    kinds = reconcile.add_subparsers(dest="what", required=True)
    for name, helped, func in (
        ("payments", "the payment provider's PaymentIntents and refunds against our payments and ledger",
         run_reconcile_payments),
        ("carriers", "an aggregator's (DT One's) transactions against delivered orders, by order",
         run_reconcile_carriers),
    ):  # fmt: skip
        parser = kinds.add_parser(name, help=helped)
        parser.add_argument(
            "--date", type=_day, default=None,
            help="the day in Brussels, YYYY-MM-DD (default today)",
        )  # fmt: skip
        parser.set_defaults(func=func)


def _day(text: str) -> date:
    """A Brussels business day the books can hold: from 2000 to the year 9998 (the window's end and the next
    day's sales must still be dates)."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{day} is outside {FIRST_DAY} to {LAST_DAY}")
    return day


def run_reconcile_payments(args: argparse.Namespace) -> None:
    from topup.process import start_django  # noqa: PLC0415

    start_django()
    from topup.ports import PortUnavailable, ProviderRequestError  # noqa: PLC0415
    from topup.services import reconcile  # noqa: PLC0415

    day = args.date or reconcile.today()
    try:
        with _said_here():
            found = reconcile.reconcile_payments(day)
    except (PortUnavailable, ProviderRequestError) as exc:
        _unreadable("payments", day, "the payment provider", exc)
    _report("payments", day, [mismatch.line() for mismatch in found])


def run_reconcile_carriers(args: argparse.Namespace) -> None:
    from topup.process import start_django  # noqa: PLC0415

    start_django()
    from topup.ports import PortUnavailable  # noqa: PLC0415
    from topup.services.reconcile import today  # noqa: PLC0415
    from topup.services.reconcile_carriers import reconcile  # noqa: PLC0415

    day = args.date or today()
    try:
        with _said_here():
            found = reconcile(day)
    except PortUnavailable as exc:
        _unreadable("carriers", day, "the aggregator", exc)
    _report("carriers", day, [str(mismatch) for mismatch in found])


@contextmanager
def _said_here() -> Iterator[None]:
    """The command says in one line when its peer cannot be read (`_unreadable`): the peer call's own warning
    (topup.adapters.observed) would say it a second time, above it."""
    observed = logging.getLogger("topup.adapters.observed")
    level = observed.level
    observed.setLevel(logging.ERROR)
    try:
        yield
    finally:
        observed.setLevel(level)


def _unreadable(what: str, day: date, party: str, exc: Exception) -> None:
    sys.stderr.write(f"reconcile {what} {day}: {party} could not be read: {exc}\n")
    raise SystemExit(EXIT_UNREADABLE) from exc


def _report(what: str, day: date, lines: Sequence[str]) -> None:
    sys.stdout.writelines(f"{line}\n" for line in lines)
    summary = f"{len(lines)} mismatch(es)" if lines else "no mismatches"
    sys.stdout.write(f"reconcile {what} {day}: {summary}\n")
    raise SystemExit(EXIT_MISMATCHES if lines else EXIT_CLEAN)
