"""`topup vouchers`: generate a batch of recharge vouchers into a CSV for the printer, void a batch, expire.

The CSV is the only place the PINs ever exist: it is created new (never overwritten), readable by its owner
only, and should be handed to the printer and deleted. It is not written inside a git work tree (the checkout:
one `git add .` from being published) unless `--force` says so.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from topup.process import start_django

CSV_COLUMNS = ("serial", "pin", "network", "plan", "price", "expires_at")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="vouchers_action", required=True)
    generate = actions.add_parser("generate", help="generate a batch of active vouchers into a CSV file")
    generate.add_argument("--network", required=True, help="base, proximus, orange, telenet, topup-esim")
    generate.add_argument("--plan", required=True, help="the plan every voucher buys, e.g. base-credit-10")
    generate.add_argument("--count", type=int, required=True)
    generate.add_argument("--out", type=Path, required=True, help="the CSV to create (must not exist)")
    generate.add_argument("--expires-in-days", type=int, default=365)
    generate.add_argument("--note", default="", help="free text kept with the batch (distributor, order)")
    generate.add_argument(
        "--force", action="store_true", help="write the CSV even inside a git work tree (e.g. the checkout)"
    )
    generate.set_defaults(before_database=lambda args: refuse_inside_work_tree(args.out, force=args.force))
    void = actions.add_parser("void", help="cancel every unused voucher of a batch")
    void.add_argument("--batch", required=True)
    actions.add_parser("expire", help="mark vouchers past their expiry date as expired")


def work_tree_of(path: Path) -> Path | None:
    """The git work tree a file at `path` would be in (a folder above it holding `.git`), or None."""
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


def refuse_inside_work_tree(path: Path, *, force: bool) -> None:
    """PINs never land in a git work tree by accident: exit 2 with what to do instead, unless forced."""
    tree = work_tree_of(path)
    if tree is None or force:
        return
    sys.stderr.write(
        f"refused: {path} is inside the git work tree {tree}, one `git add` away from publishing the PINs; "
        "write it elsewhere (e.g. --out ~/batch.csv) or add --force\n"
    )
    raise SystemExit(2)


def run(args: argparse.Namespace) -> None:
    start_django()
    from topup.services import vouchers  # noqa: PLC0415

    if args.vouchers_action == "void":
        sys.stdout.write(f"{vouchers.void_batch(args.batch):,} voucher(s) of batch {args.batch} voided\n")
    elif args.vouchers_action == "expire":
        sys.stdout.write(f"{vouchers.expire_vouchers():,} voucher(s) expired\n")
    else:
        generate(args, sys.stdout, sys.stderr)


def generate(args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    from topup.domain.money import Money  # noqa: PLC0415
    from topup.services import vouchers  # noqa: PLC0415

    started = time.monotonic()
    # Created before generating (O_EXCL, mode 600): an existing file is never overwritten by secret PINs.
    descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        batch, pairs = vouchers.generate_batch(
            args.network,
            args.plan,
            args.count,
            expires_in_days=args.expires_in_days,
            note=args.note,
            progress=_progress_bar(args.count, err),
        )
    except BaseException:
        os.close(descriptor)
        Path(args.out).unlink()
        raise
    price = str(Money(batch.price_minor, batch.currency))
    expires_at = batch.expires_at.date().isoformat()
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows((serial, pin, args.network, args.plan, price, expires_at) for serial, pin in pairs)
    elapsed_s = time.monotonic() - started
    out.write(f"batch {batch.id}: {len(pairs):,} vouchers of {args.plan} ({price}) until {expires_at}\n")
    out.write(f"written to {args.out} in {elapsed_s:.1f} s; hand it to the printer, then delete it\n")


def _progress_bar(total: int, err: TextIO) -> Callable[[int], None]:
    def show(done: int) -> None:
        err.write(f"\r  {done:,}/{total:,} ({done * 100 // total} %)" + ("\n" if done >= total else ""))
        err.flush()

    return show
