"""Command line of the demo's SMTP sink: `serve` (what `topup serve` runs), `list`, `show [N]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from topup.settings import CONFIG

EPILOG = """\
`topup serve` runs the sink in the demo when TOPUP_SMTP_HOST is not set: it listens on TOPUP_MAIL_PORT
(TOPUP_PORT + 9) and keeps each message as a file in the Maildir TOPUP_DATA_DIR/mail/ (any mail program
opens mail/new/). `topup simulate mail list` lists them, `topup simulate mail show` prints the newest.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "action", nargs="?", choices=("serve", "list", "show"), default="serve",
        help="serve: run the SMTP sink (default); list: the messages stored; show: one in full",
    )  # fmt: skip
    parser.add_argument("number", nargs="?", type=int, help="show: which one (1 the oldest; default newest)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=CONFIG.mail_port, help="env TOPUP_MAIL_PORT")
    parser.add_argument(
        "--maildir", type=Path, default=CONFIG.data_dir / "mail", help="the Maildir (default DATA_DIR/mail)"
    )


def run(args: argparse.Namespace) -> None:
    from topup.simulators.mail import reading  # noqa: PLC0415

    if args.action == "list":
        print(reading.listing(args.maildir), end="")
    elif args.action == "show":
        print(reading.showing(args.maildir, args.number), end="")
    else:
        from topup.simulators.mail.sink import serve_until_stopped  # noqa: PLC0415

        asyncio.run(serve_until_stopped(args.host, args.port, args.maildir))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topup.simulators.mail", description="The demo's SMTP sink, storing into a Maildir."
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
