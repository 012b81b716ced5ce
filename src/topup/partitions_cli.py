"""`topup partitions status|upkeep|archive`: the time-partitioned tables on PostgreSQL (db/partitions)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from topup.process import start_django


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="partitions_action", required=True)
    actions.add_parser("status", help="every partition, attached, default or archived (JSON lines)")
    actions.add_parser(
        "upkeep", help="make the months ahead and archive the old ones now (the worker does it)"
    )
    archive = actions.add_parser("archive", help="dump each archived partition with COPY to DIR/<name>.csv")
    archive.add_argument("--to", required=True, type=Path, metavar="DIR", help="folder of the dump files")
    archive.add_argument(
        "--drop", action="store_true", help="drop each archived table once its file is written"
    )


def run(args: argparse.Namespace) -> None:
    start_django()
    from django.db import connection  # noqa: PLC0415

    from topup.db import partitions  # noqa: PLC0415
    from topup.services import partition_upkeep  # noqa: PLC0415

    if connection.vendor != "postgresql":
        sys.stderr.write("partitions exist on PostgreSQL only: nothing to do on this database\n")
        return
    if args.partitions_action == "status":
        for info in partitions.status():
            line = {
                "table": info.table, "partition": info.name, "state": info.state, "bounds": info.bounds,
                "rows_estimate": info.rows_estimate, "bytes": info.bytes,
            }  # fmt: skip
            sys.stdout.write(json.dumps(line) + "\n")
    elif args.partitions_action == "upkeep":
        sys.stdout.write(json.dumps(partition_upkeep.sweep(force=True)) + "\n")
    else:
        for name, rows, path in partitions.archive_to(args.to, drop=args.drop):
            sys.stdout.write(json.dumps({"partition": name, "rows": rows, "file": str(path)}) + "\n")
