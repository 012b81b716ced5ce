"""Waiting for an order to change, for the order page's long poll: the answer comes as soon as the order's
state differs from the one the page shows, or after a bounded wait with the state unchanged.

The state is what the page draws from: the order's status, its latest payment attempt's status (a
declined or confirming payment) and a new eSIM's profile state (downloaded, installed). A waiter reads the
database when the order's change is pushed to it (services/order_push: LISTEN/NOTIFY on PostgreSQL, a tick
on SQLite). It holds one of the web server's threads (gunicorn gthread), so at most `CONFIG.web_streams`
wait (or stream, channels/order_stream) at once per process; the others are answered at once and told
when to ask again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from topup.db import hot_sql
from topup.db.models import Order
from topup.domain.errors import NotFound
from topup.services import order_push
from topup.services.order_access import Caller, checked
from topup.settings import CONFIG

WAIT_S: Final = 20.0  # the longest a request waits (below any proxy's idle timeout)
MAX_WAITERS: Final = CONFIG.web_streams  # of CONFIG.web_threads per process: the rest keep serving pages
BUSY_RETRY_MS: Final = 1_000
_WAITERS = threading.BoundedSemaphore(MAX_WAITERS)
# How a waiter waits for the next look at the database; replaced by tests that step time themselves.
_wait: Callable[[order_push.Watch, float], bool] = order_push.Watch.wait
_clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class Watched:
    status: str  # the order's status
    state: str  # what the page is drawn from: pass it back as `after`
    changed: bool  # state != after
    retry_ms: int = 0  # all waiters busy: ask again after this long


def page_state(status: str, payment_status: str, profile_state: str) -> str:
    """What the order page is drawn from, in one string: the order's, its payment's and its eSIM's state."""
    return f"{status}.{payment_status}.{profile_state}"


def state_of_document(order: Mapping[str, object]) -> str:
    """The state of an order document (services/order_view) as the page drew it: the page waits from there,
    so a change between reading the document and waiting is never missed."""
    attempts = order.get("attempts")
    latest = attempts[-1] if isinstance(attempts, list) and attempts else None
    esim = order.get("esim")
    return page_state(
        str(order["status"]),
        str(latest.get("status") or "") if isinstance(latest, dict) else "",
        str(esim.get("state") or "") if isinstance(esim, dict) else "",
    )


def state_of(order_id: str) -> tuple[str, str]:
    """(status, state) of the order as the database holds it now (one statement, db/hot_sql)."""
    order = hot_sql.order_state(order_id)
    if order is None:
        raise NotFound(f"no order {order_id!r}", code="order_not_found", field="order_id")
    return _state(order)


def state_of_owned(order_id: str, caller: Caller) -> tuple[str, str]:
    """`state_of` for a caller who may see the order, read and checked in one statement."""
    return _state(checked(hot_sql.order_state(order_id), order_id, caller))


def _state(order: Order) -> tuple[str, str]:
    """(status, state) of an order read by `hot_sql.order_state`."""
    profile = order.line.profile_state if order.line_id and order.line else ""
    return order.status, page_state(order.status, vars(order)["payment_status"] or "", profile)


def wait_for_change(
    order_id: str,
    caller: Caller,
    after: str,
    *,
    timeout_s: float = WAIT_S,
) -> Watched:
    """The order's state once it differs from `after`, or unchanged after `timeout_s` (at most `WAIT_S`);
    `order_not_found` for a caller who may not see the order (services/order_access)."""
    with order_push.watch(order_id) as watch:
        status, state = state_of_owned(order_id, caller)
        if differs(state, after) or timeout_s <= 0:
            return Watched(status, state, changed=differs(state, after))
        if not _WAITERS.acquire(blocking=False):
            return Watched(status, state, changed=False, retry_ms=BUSY_RETRY_MS)
        try:
            deadline = _clock() + min(timeout_s, WAIT_S)
            while (left := deadline - _clock()) > 0:
                _wait(watch, left)
                status, state = state_of(order_id)
                if differs(state, after):
                    return Watched(status, state, changed=True)
            return Watched(status, state, changed=False)
        finally:
            _WAITERS.release()


def differs(state: str, after: str) -> bool:
    """Whether `state` is news to a client that saw `after`: a whole state, or only a status (API clients
    that know the status document and not the page's state)."""
    return state != after if "." in after else state.split(".", 1)[0] != after


def wait_next(watch: order_push.Watch, timeout_s: float) -> bool:
    """Until the order's change is pushed (or the next look at the database is due)."""
    return _wait(watch, timeout_s)


def streams() -> threading.BoundedSemaphore:
    """The process's slots for requests that hold their thread while they wait (long polls and streams)."""
    return _WAITERS
