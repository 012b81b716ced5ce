"""Partners' status callbacks: each status change of an order an API key placed is POSTed, signed, to the
URL that key registered.

`order_changed` (called by `transitions.move`, in the order's transaction) freezes the event into a
`PartnerEvent` and queues a `partner_hook` job, so the callback is sent at least once, after commit, with
the same event id and bytes on every retry (the partner de-duplicates by the id). The body is signed with
HMAC-SHA256 over `<timestamp>.<body>` under the key's own secret: `Topup-Signature: t=<unix>,v1=<hex>`.
A slow or failing partner never holds up deliveries: each POST has a short timeout, at most
`MAX_SENDING` run at once per worker process (the rest are put back), and failures retry with backoff.
In production a URL must be https and must not resolve to a loopback, private, link-local or reserved
address (checked when registered and again before each send, as DNS may change).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import httpx

from topup.clock import new_id, now
from topup.db.models import Order, PartnerEvent, PartnerHook
from topup.domain.errors import InvalidInput
from topup.metrics.peers import peer_call
from topup.services import jobs
from topup.settings import CONFIG

if TYPE_CHECKING:
    from topup.services.delivery import JobResult

log = logging.getLogger(__name__)

JOB_KIND: Final = "partner_hook"
EVENT_TYPE: Final = "order.status_changed"
SIGNATURE_HEADER: Final = "Topup-Signature"
TOLERANCE_S: Final = 300  # what we advise partners to accept between our timestamp and their clock
SEND_TIMEOUT_S: Final = 5.0
MAX_SENDING: Final = 4  # of the worker's threads: the others keep delivering top-ups
_sending = threading.BoundedSemaphore(MAX_SENDING)


# ---- registration ----------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """The URL when we may POST to it; `invalid_callback_url` otherwise (scheme, host, and in production
    https only and no address on loopback, private, link-local or reserved ranges)."""
    production = CONFIG.is_production
    allowed = {"https"} if production else {"https", "http"}
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 443  # ValueError when out of range
    except ValueError as exc:
        raise InvalidInput("not a URL", code="invalid_callback_url", field="url") from exc
    if parts.scheme not in allowed or not parts.hostname or parts.username or parts.password:
        raise InvalidInput("not an allowed callback URL", code="invalid_callback_url", field="url")
    if production and not _public(parts.hostname, port):
        raise InvalidInput(
            "the callback URL is not a public address", code="invalid_callback_url", field="url"
        )
    return url.strip()


def _public(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    return bool(addresses) and all(a.is_global and not a.is_multicast for a in addresses)


def set_hook(api_key_id: str, url: str) -> str:
    """Register (or change) the key's callback URL. Returns the signing secret when one was created now
    (the first registration): it is shown this once. Changing the URL keeps the secret."""
    checked, at = check_url(url), now()
    hook = PartnerHook.objects.filter(api_key_id=api_key_id).first()
    if hook is not None:
        PartnerHook.objects.filter(api_key_id=api_key_id).update(url=checked, updated_at=at)
        return ""
    secret = f"phs_{secrets.token_urlsafe(32)}"
    PartnerHook.objects.create(
        api_key_id=api_key_id, url=checked, secret=secret, created_at=at, updated_at=at
    )
    return secret


def clear_hook(api_key_id: str) -> bool:
    """Forget the key's callback (and its secret); events already queued are dropped when they run."""
    deleted, _ = PartnerHook.objects.filter(api_key_id=api_key_id).delete()
    return bool(deleted)


def hook_document(api_key_id: str) -> dict[str, object]:
    hook = PartnerHook.objects.filter(api_key_id=api_key_id).first()
    return {"url": hook.url if hook else None, "signing_secret": None}


# ---- signing ---------------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Topup-Signature` header of `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, at_unix: int, tolerance_s: int = TOLERANCE_S) -> bool:
    """What a partner does: the header's timestamp is recent and one of its v1 signatures matches."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in fields if name.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(at_unix - int(stamps[0])) > tolerance_s:
        return False
    expected = signature(secret, int(stamps[0]), body).split("v1=", 1)[1]
    return any(name.strip() == "v1" and hmac.compare_digest(value, expected) for name, value in fields)


# ---- queueing and sending --------------------------------------------------------------------------


def order_changed(order: Order, new_status: str, at: datetime) -> None:
    """Called by `transitions.moved`: an event and its job for the partner whose key placed the order."""
    orders_changed([order], new_status, at)


def orders_changed(orders: Sequence[Order], new_status: str, at: datetime) -> None:
    """Events and their jobs for the orders (moved together to `new_status`) whose key has a callback: one
    look-up, and for those that have one an INSERT of events and one of jobs (the workers woken once)."""
    keyed = {order.api_key_id for order in orders if order.api_key_id}
    if not keyed:
        return
    hooked = set(PartnerHook.objects.filter(api_key_id__in=keyed).values_list("api_key_id", flat=True))
    events = []
    for order in orders:
        if order.api_key_id not in hooked:
            continue
        event_id = new_id("evt")
        body = {
            "id": event_id,
            "type": EVENT_TYPE,
            "created_at": at.isoformat(),
            "data": {"order_id": order.id, "status": new_status},
        }
        events.append(
            PartnerEvent(
                id=event_id, api_key_id=order.api_key_id, order_id=order.id, status=new_status, body=body,
                created_at=at,
            )
        )  # fmt: skip
    if events:
        PartnerEvent.objects.bulk_create(events)
        jobs.enqueue_many(JOB_KIND, [event.id for event in events], at=at)


def send(event_id: str, attempt: int) -> JobResult:
    """The job handler: POST the event; done on a 2xx, retried with backoff otherwise."""
    from topup.services.delivery import JobResult  # noqa: PLC0415 - delivery imports transitions, us

    event = PartnerEvent.objects.filter(id=event_id).first()
    hook = PartnerHook.objects.filter(api_key_id=event.api_key_id).first() if event else None
    if event is None or hook is None:
        return JobResult(done=True, note="no event or no callback any more")
    if event.delivered_at is not None:
        return JobResult(done=True, note="already delivered")
    if not _sending.acquire(blocking=False):
        return JobResult(done=False, retry_in_s=1.0, note="partner callbacks busy")
    try:
        error = _post(hook, event)
    finally:
        _sending.release()
    if not error:
        PartnerEvent.objects.filter(id=event_id).update(delivered_at=now(), last_error="")
        return JobResult(done=True, note="delivered")
    PartnerEvent.objects.filter(id=event_id).update(last_error=error[:255])
    return JobResult(done=False, retry_in_s=min(5.0 * 2 ** min(attempt - 1, 10), 3600.0), note=error)


def _post(hook: PartnerHook, event: PartnerEvent) -> str:
    """'' when the partner answered 2xx, else what went wrong."""
    try:
        check_url(hook.url)
    except InvalidInput:
        return "callback URL refused"
    body = json.dumps(event.body, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Topup-Webhooks/1",
        SIGNATURE_HEADER: signature(hook.secret, int(now().timestamp()), body),
        "Topup-Event-Id": event.id,
    }
    try:
        with peer_call("partner", "status_callback") as call:
            answer = call.answer(httpx.post(hook.url, content=body, headers=headers, timeout=SEND_TIMEOUT_S))
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"
    if 200 <= answer.status_code < 300:
        return ""
    return f"HTTP {answer.status_code}"


HANDLERS = {JOB_KIND: send}
