"""The SMS sender of the notification outbox and of OTP codes: submits through the platform's SMPP link.

The link is opened lazily on the first message and reused; a link that is down, or an SMSC refusal, is
`NotSent` (retried by the outbox), while a missing submit_sm_resp stays "unknown" and is not resent.
"""

from __future__ import annotations

import threading

from topup.adapters.messaging.smpp import LinkDown, SmppLink, SubmitRejected
from topup.metrics.peers import peer_call
from topup.ports import NotSent


class SmppSmsSender:
    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        source_addr: str = "1919",
        bind_timeout_s: float = 5.0,
        link: SmppLink | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._system_id, self._password = system_id, password
        self.source_addr = source_addr
        self.bind_timeout_s = bind_timeout_s
        self._link = link  # an already running link (the SMS channel's) may be shared
        self._lock = threading.Lock()

    def _bound_link(self) -> SmppLink:
        with self._lock:
            if self._link is None:
                link = SmppLink(self.host, self.port, self._system_id, self._password, self.source_addr)
                link.start()
                self._link = link
            link = self._link
        if not link.wait_bound(self.bind_timeout_s):
            raise NotSent(f"SMPP link to {self.host}:{self.port} not bound within {self.bind_timeout_s} s")
        return link

    def send(self, to: str, text: str) -> None:
        link = self._bound_link()
        try:
            with peer_call("smsc", "submit_sm"):
                link.send(to, text)
        except (LinkDown, SubmitRejected) as exc:
            raise NotSent(str(exc)) from exc
        # SubmitTimeout propagates: the SMSC may have taken the message, so it must not be resent.

    def stop(self) -> None:
        with self._lock:
            link, self._link = self._link, None
        if link is not None:
            link.stop()
