"""`topup fx import [--file PATH | --url URL]`: the ECB's euro reference rates into the database.

Without arguments: production reads TOPUP_FX_URL (the ECB's daily file); the demo and tests read the
sample bundled with the package, so that no demo start needs the internet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from topup.adapters.fx import ecb
from topup.settings import CONFIG

if TYPE_CHECKING:  # the services need Django set up: imported when a command runs, not when it is parsed
    from topup.services.fx import Imported


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    load = actions.add_parser("import", help="import the ECB's euro reference rates (daily or 90-day XML)")
    where = load.add_mutually_exclusive_group()
    where.add_argument("--file", type=Path, help="a eurofxref-daily.xml or eurofxref-hist-90d.xml file")
    where.add_argument("--url", help=f"read it from this address (production default: {CONFIG.fx_url})")


def import_rates(*, file: Path | None = None, url: str | None = None) -> Imported:
    """Read, parse and store the rates; raises ecb.RatesUnreadable and stores nothing on a bad document."""
    from topup.services import fx  # noqa: PLC0415

    if url is None and file is None:
        if CONFIG.is_production:
            url = CONFIG.fx_url
        else:
            file = ecb.BUNDLED
    document = ecb.fetch(url) if url is not None else ecb.read_file(file or ecb.BUNDLED)
    return fx.store_rates(ecb.parse(document))


def summary(result: Imported) -> str:
    latest = result.latest
    newest = f"; CNY {latest.rate} ({latest.source} {latest.rate_date})" if latest else "; no CNY rate"
    counts = f"{result.added} added, {result.unchanged} unchanged, {result.corrected} corrected"
    return f"fx rates: {counts}{newest}"


def run(args: argparse.Namespace) -> None:
    try:
        result = import_rates(file=args.file, url=args.url)
    except (ecb.RatesUnreadable, OSError) as exc:
        sys.exit(f"topup fx import: {exc}")
    print(summary(result))
