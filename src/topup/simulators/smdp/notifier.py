"""ES2+ HandleDownloadProgressInfo: the SM-DP+ tells the operator how a profile's download went.

Notifications of one ICCID are delivered in the order they happened, by one sender task per ICCID; a failed
attempt (anything but a 2xx answer, 204 expected) is retried with exponential backoff (0.2 s doubling, capped
at 30 s) for as long as the server runs. A retry sends the very same body, functionCallIdentifier included, so
the operator can discard a duplicate. Notification point ids (SGP.22): 1 eligibility and retry limit check,
2 ConfirmationFailure, 3 BPP download, 4 BPP installation, 5 deletion (6 disabling, 7 enabling: not sent).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from typing import Any, Final

import aiohttp

from topup.simulators.smdp.codes import Es2Error
from topup.simulators.smdp.state import Profile, utc_timestamp

log = logging.getLogger("topup.simulators.smdp.notifier")

ELIGIBILITY: Final = 1
CONFIRMATION_FAILURE: Final = 2
BPP_DOWNLOAD: Final = 3
BPP_INSTALLATION: Final = 4
DELETION: Final = 5
PROTOCOL: Final = "gsma/rsp/v2.5.0"


class ProgressNotifier:
    """Queue notifications with `publish`; `start` and `close` run inside the server's event loop."""

    def __init__(
        self,
        url: str,
        key: str,
        requester_id: str,
        *,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self._key = key
        self._requester_id = requester_id
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._timeout_s = timeout_s
        self._queues: dict[str, deque[bytes]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._call_ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self.delivered = 0
        self.failed_attempts = 0

    async def start(self) -> None:
        if self._url:
            timeout = aiohttp.ClientTimeout(total=self._timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)

    async def close(self) -> None:
        for sender in self._senders.values():
            sender.cancel()
        await asyncio.gather(*self._senders.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        pending = sum(len(queue) for queue in self._queues.values())
        if pending:
            log.warning("stopping with %d progress notifications undelivered", pending)

    def stats(self) -> dict[str, Any]:
        pending = sum(len(queue) for queue in self._queues.values())
        return {"url": self._url, "delivered": self.delivered, "failed_attempts": self.failed_attempts,
                "pending": pending}  # fmt: skip

    def publish(self, profile: Profile, point_id: int, error: Es2Error | None = None) -> dict[str, Any]:
        """Build the notification of one step of `profile`, queue it, and return its body."""
        status: dict[str, Any] = {"status": "Executed-Success"}
        if error is not None:
            status = {"status": "Failed", "statusCodeData": error.status_code_data()}
        body: dict[str, Any] = {
            "header": {
                "functionRequesterIdentifier": self._requester_id,
                "functionCallIdentifier": f"hdpi-{next(self._call_ids):08d}",
            },
            "iccid": profile.iccid,
            "profileType": profile.profile_type,
            "timestamp": utc_timestamp(),
            "notificationPointId": point_id,
            "notificationPointStatus": status,
        }
        if profile.eid is not None:
            body["eid"] = profile.eid
        if self._session is not None:
            raw = json.dumps(body, separators=(",", ":")).encode()
            self._queues.setdefault(profile.iccid, deque()).append(raw)
            if profile.iccid not in self._senders:
                self._senders[profile.iccid] = asyncio.create_task(self._drain(profile.iccid))
        return body

    async def _drain(self, iccid: str) -> None:
        """Deliver the ICCID's notifications one after the other, each until it is accepted."""
        queue = self._queues[iccid]
        try:
            while queue:
                attempt = 0
                while not await self._send(queue[0]):
                    self.failed_attempts += 1
                    delay_s = min(self._max_backoff_s, self._initial_backoff_s * 2 ** min(attempt, 32))
                    attempt += 1
                    await asyncio.sleep(delay_s)
                queue.popleft()
                self.delivered += 1
        finally:
            if not queue:
                del self._queues[iccid]
            del self._senders[iccid]

    async def _send(self, body: bytes) -> bool:
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            "X-Admin-Protocol": PROTOCOL,
            "Authorization": f"Bearer {self._key}",
        }
        try:
            async with self._session.post(self._url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 204 and 200 <= response.status < 300:
                    log.warning("progress notification answered %d, 204 expected", response.status)
                if 200 <= response.status < 300:
                    return True
                reason = f"HTTP {response.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        log.warning("progress notification for %s not delivered (%s); will retry", self._url, reason)
        return False
