"""`topup sms-gateway`: the platform's ESME. It keeps a bind_transceiver to the SMSC and answers each
mobile-originated SMS with the command's reply, in the line's language."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Protocol

from django.db import close_old_connections

from topup import logcontext
from topup.adapters.messaging.smpp import SmppError, SmppLink
from topup.channels import sms
from topup.settings import CONFIG

log = logging.getLogger(__name__)


class Replies(Protocol):
    def send(self, to: str, text: str, /) -> object: ...


def answer(link: Replies, sender: str, text: str) -> None:
    """Handle one mobile-originated SMS and reply, in a log scope of its own (a new request id): the ids a
    service binds (order, payment) are forgotten before the pool's thread takes the next customer's."""
    with logcontext.bound(request_id=logcontext.new_request_id()):
        try:
            reply = sms.handle_inbound(sender, text)
            link.send(sender, reply)
        except SmppError as exc:
            log.warning("could not reply to an SMS: %s", exc)
        except Exception:
            log.exception("SMS command failed")
        finally:
            close_old_connections()


def run() -> None:
    stopping = threading.Event()
    pool = ThreadPoolExecutor(4, thread_name_prefix="sms")
    link: SmppLink

    def on_message(sender: str, text: str) -> None:
        pool.submit(answer, link, sender, text)  # the SMPP listener must not wait on the database

    link = SmppLink(
        CONFIG.smsc_host, CONFIG.smsc_port, CONFIG.smsc_system_id, CONFIG.smsc_password,
        source_addr=CONFIG.sms_short_code, on_message=on_message,
    )  # fmt: skip

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    link.start()
    log.info("SMS gateway binding to %s:%s as %s", CONFIG.smsc_host, CONFIG.smsc_port, CONFIG.smsc_system_id)
    stopping.wait()
    link.stop()
    pool.shutdown(wait=True)
