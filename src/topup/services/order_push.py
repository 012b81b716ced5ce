"""Pushing an order's changes to the requests that wait for them (the order page, SSE, long polls).

`changed` is called by `transitions.move` inside the order's transaction: PostgreSQL tells every listener at
commit (db/wakeup). One listener thread per web process (started by the first waiter) wakes the waiters of
that order. A waiter registers before it reads the database (`watch`), so a change committed between its
read and its wait is never missed. On SQLite there is no one to tell: `wait` returns after a short tick and
the waiter reads the database itself. A notification is a hint: a waiter also reads the database every
`FALLBACK_S` on PostgreSQL, for what no transition announces (a declined payment, an eSIM's download state)
and for what a reconnecting listener missed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from topup.db import wakeup

log = logging.getLogger(__name__)

SQLITE_TICK_S: Final = 0.25  # SQLite: how often a waiter reads the database
FALLBACK_S: Final = 3.0  # PostgreSQL: a waiter reads the database at least this often anyway
_LISTEN_S: Final = 1.0  # how often the listener looks up from its connection (to stop, or to idle out)
IDLE_S: Final = 30.0  # nobody waited this long: the listener closes its connection until the next waiter

_lock = threading.Lock()


class _Watched:
    """The waiters of one order: their count, the announcements heard, and their own Condition (on the
    module's lock), so that an announcement wakes that order's waiters and nobody else."""

    def __init__(self) -> None:
        self.waiters = 0
        self.generation = 0
        self.announced = threading.Condition(_lock)


_watched: dict[str, _Watched] = {}  # order id -> its waiters, for orders someone waits on
_started_in: list[int] = []  # the pid whose listener thread runs (a forked child starts its own)
_threads: list[threading.Thread] = []
_stopping = threading.Event()


def changed(order_id: str) -> None:
    """Announce, at the commit of the current transaction, that `order_id` changed (nothing on SQLite)."""
    wakeup.notify(wakeup.ORDERS, order_id)


_IDS_PER_NOTIFY = 200  # ids are ~30 characters: well inside PostgreSQL's 8,000-byte payload


def changed_many(order_ids: list[str]) -> None:
    """`changed` for orders moved in bulk (the worker's batches): their ids comma-joined, a few per NOTIFY."""
    for start in range(0, len(order_ids), _IDS_PER_NOTIFY):
        wakeup.notify(wakeup.ORDERS, ",".join(order_ids[start : start + _IDS_PER_NOTIFY]))


def heard(order_ids: list[str]) -> None:
    """Wake the waiters of `order_ids` (the listener thread's delivery; tests call it directly)."""
    with _lock:
        for order_id in order_ids:
            watched = _watched.get(order_id)
            if watched is not None:
                watched.generation += 1
                watched.announced.notify_all()


class Watch:
    """One waiter's registration for one order: `wait` returns early once the order was announced."""

    def __init__(self, order_id: str, watched: _Watched) -> None:
        self.order_id = order_id
        self._watched = watched
        self._seen = watched.generation

    def wait(self, timeout_s: float) -> bool:
        """True when the order was announced since the last wait; False after `timeout_s` (capped at the
        fallback on PostgreSQL and at the tick on SQLite or through a transaction pooler without a LISTEN
        connection, where nothing is ever announced)."""
        if not wakeup.listens():
            threading.Event().wait(min(timeout_s, SQLITE_TICK_S))
            return False
        _ensure_listener()
        watched = self._watched
        with _lock:
            arrived = watched.announced.wait_for(
                lambda: watched.generation != self._seen, min(timeout_s, FALLBACK_S)
            )
            self._seen = watched.generation
        return bool(arrived)


@contextmanager
def watch(order_id: str) -> Iterator[Watch]:
    """Register interest in `order_id` for the block; read the database inside it, then `wait`."""
    with _lock:
        watched = _watched.setdefault(order_id, _Watched())
        watched.waiters += 1
        registered = Watch(order_id, watched)
    try:
        yield registered
    finally:
        with _lock:
            watched.waiters -= 1
            if watched.waiters <= 0:
                del _watched[order_id]


def _ensure_listener() -> None:
    pid = os.getpid()
    with _lock:
        if _started_in == [pid]:
            return
        _started_in[:] = [pid]
        _stopping.clear()
    thread = threading.Thread(target=_listen, name="order-push-listener", daemon=True)
    _threads[:] = [thread]
    thread.start()


def stop() -> None:
    """Stop the listener thread and close its connection (tests, before the test database is dropped)."""
    _stopping.set()
    for thread in _threads:
        thread.join(timeout=_LISTEN_S * 3)
    _threads.clear()


def _listen() -> None:
    """The process's one listener: hears every order announcement and wakes that order's waiters. With
    nobody waiting for `IDLE_S` it closes its connection and ends; the next waiter starts it again."""
    listener = wakeup.Listener(wakeup.ORDERS, poll_s=_LISTEN_S)
    idle_since = time.monotonic()
    try:
        while not _stopping.is_set():
            with _lock:
                if _watched:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > IDLE_S:
                    _started_in.clear()
                    return
            try:
                arrived = listener.wait(_LISTEN_S)
            except Exception:  # never let the thread die: waiters still read the database every FALLBACK_S
                log.exception("order push listener failed")
                listener.close()
                _stopping.wait(FALLBACK_S)
                continue
            if arrived:
                heard(
                    [
                        i
                        for channel, payload in arrived
                        if channel == wakeup.ORDERS
                        for i in payload.split(",")
                    ]
                )
    finally:
        listener.close()
        with _lock:
            if _stopping.is_set():
                _started_in.clear()
