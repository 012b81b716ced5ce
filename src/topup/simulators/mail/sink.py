"""An SMTP server (aiosmtpd) that accepts every message and adds it to a Maildir, untouched: any mail
program opens `new/`. It relays nothing; it listens on loopback only unless told otherwise."""

from __future__ import annotations

import asyncio
import mailbox
import signal
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

from topup.simulators.private import FILE_MODE, private_folder


class MaildirHandler:
    """aiosmtpd's DATA hook: each message as received, one file in the Maildir's `new/`. The messages hold
    sign-in codes: the folders are owner-only (0700), and so is each message (0600)."""

    def __init__(self, maildir: Path) -> None:
        private_folder(maildir)
        for folder in ("tmp", "new", "cur"):  # Maildir creates them only when the folder itself is new
            private_folder(maildir / folder)
        self.folder = maildir
        self.maildir = mailbox.Maildir(maildir, create=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        content = envelope.original_content or envelope.content
        key = self.maildir.add(content if isinstance(content, bytes) else str(content).encode())
        (self.folder / "new" / key).chmod(FILE_MODE)  # written 0666 less the umask, into an owner-only tmp/
        return "250 Message accepted for delivery"


async def serve_until_stopped(host: str, port: int, maildir: Path) -> None:
    """Listen on host:port until SIGTERM or SIGINT, storing every message in `maildir`."""
    handler = MaildirHandler(maildir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="topup-mail-sink", enable_SMTPUTF8=True), host, port
    )
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    print(f"mail sink listening on smtp://{host}:{port}, storing into {maildir}", flush=True)
    try:
        await stopping.wait()
    finally:
        server.close()
        await server.wait_closed()
