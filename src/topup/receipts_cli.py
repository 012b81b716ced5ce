"""`topup receipt sample`: a demo receipt rendered as text, ESC/POS bytes or PDF, to look at or to print.

The ESC/POS file can be sent to a printer as is (`cat receipt.bin > /dev/usb/lp0`, or `nc printer 9100`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from topup.process import start_django

FORMATS = ("text", "escpos", "pdf")
LANGUAGES = ("en", "nl", "fr", "de", "zh-hans")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    receipt = sub.add_parser("receipt", help="shop receipts: render a demo one as text, ESC/POS or PDF")
    actions = receipt.add_subparsers(dest="receipt_action", required=True)
    sample = actions.add_parser("sample", help="render a demo receipt (a PIN sale unless told otherwise)")
    sample.add_argument("--language", choices=LANGUAGES, default="en")
    sample.add_argument("--format", choices=FORMATS, default="text")
    sample.add_argument("--out", type=Path, required=True, help="the file to write; - for standard output")
    sample.add_argument("--kind", choices=("sale", "void", "refund"), default="sale")
    sample.add_argument("--direct", action="store_true", help="a direct top-up of a number, not a PIN sale")
    sample.add_argument(
        "--width", type=int, choices=(42, 32), default=42, help="columns: 42 (80 mm), 32 (58 mm)"
    )
    sample.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    start_django()
    from topup.domain.receipts import ReceiptKind  # noqa: PLC0415
    from topup.services.receipts import render_escpos, render_pdf, render_text  # noqa: PLC0415
    from topup.services.receipts.sample import sample_receipt  # noqa: PLC0415

    data = sample_receipt(args.language, ReceiptKind(args.kind), pin_sale=not args.direct)
    if args.format == "text":
        rendered = render_text(data, width=args.width).encode()
    elif args.format == "escpos":
        rendered = render_escpos(data, width=args.width)
    else:
        rendered = render_pdf(data)
    if str(args.out) == "-":
        sys.stdout.buffer.write(rendered)
    else:
        args.out.write_bytes(rendered)
        sys.stdout.write(f"wrote {args.format} receipt ({len(rendered)} bytes) to {args.out}\n")
