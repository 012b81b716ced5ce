"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests that read the e-mail the
platform sends (receipts, a new eSIM's QR code, sign-in codes): point TOPUP_SMTP_HOST/PORT at it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.processes import free_port


class Mailbox:
    """The messages received, in order (aiosmtpd's handler: it runs in the controller's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, wanted: Callable[[EmailMessage], bool], timeout_s: float = 30.0) -> EmailMessage:
        """The first message `wanted` accepts, waiting for the worker to send it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = next((m for m in self.messages if wanted(m)), None)
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError(
            f"no such e-mail within {timeout_s} s; received: {[m['To'] for m in self.messages]}"
        )


@contextmanager
def smtp_sink() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
