"""An order's changes as Server-Sent Events (text/event-stream), for the API and the order page.

The stream sends `retry:` first, then an `order` event with the order's document (`id:` its state, so that
`Last-Event-ID` resumes) whenever its state differs from the last one sent, a comment every `PING_S` to keep
proxies from closing an idle connection, and ends after a terminal status or after `STREAM_S`; the client
then reconnects with `Last-Event-ID`. A stream holds one of the web process's threads: it takes a slot of
`order_watch.streams()` and gives it back when the response is closed, whether or not it was ever read;
without a free slot the caller answers 503 with `Retry-After`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Final

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from topup.domain.orders import OrderStatus, is_terminal
from topup.services import order_push, order_watch

STREAM_S: Final = 60.0  # then the client reconnects (its Last-Event-ID resumes)
PING_S: Final = 15.0
RETRY_MS: Final = 1_000
# Reads the order once: its status, its state and the document to send when the state is news.
Read = Callable[[], tuple[str, str, dict[str, object]]]


class _Slot:
    """One stream slot, released once: at the end of the events or when the server closes the response."""

    def __init__(self, slots: threading.BoundedSemaphore) -> None:
        self._slots = slots
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                self._slots.release()


class _Events:
    """The stream's body: an iterator Django closes when the response ends (so the slot comes back)."""

    def __init__(self, events: Generator[bytes], slot: _Slot) -> None:
        self._events = events
        self._slot = slot

    def __iter__(self) -> Iterator[bytes]:
        return self._events

    def close(self) -> None:
        try:
            self._events.close()  # leaves its watch of the order
        finally:
            self._slot.release()


def event(document: dict[str, object], state: str) -> bytes:
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {state}\nevent: order\ndata: {data}\n\n".encode()


def events(order_id: str, after: str, read: Read) -> Generator[bytes]:
    """The stream's bytes: the document each time the order's state differs from the last one sent. Each
    look at the order is one `read`: the state and the document come from the same row."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    deadline = time.monotonic() + STREAM_S
    last_sent = time.monotonic()
    with order_push.watch(order_id) as watch:
        while True:
            status, state, document = read()
            if order_watch.differs(state, after):
                yield event(document, state)
                after, last_sent = state, time.monotonic()
            if is_terminal(OrderStatus(status)):
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if time.monotonic() - last_sent >= PING_S:
                yield b": ping\n\n"
                last_sent = time.monotonic()
            order_watch.wait_next(watch, min(left, PING_S))


def stream(order_id: str, after: str, read: Read, now: tuple[str, str]) -> HttpResponseBase | None:
    """The event-stream response, or None when every stream slot of this process is taken. The caller
    checks access first and hands over the (status, state) it read then (order_watch.state_of_owned: one
    statement); `read` reads the order at each look (channels pass one statement)."""
    slots = order_watch.streams()
    if not slots.acquire(blocking=False):
        return None
    slot = _Slot(slots)
    try:
        status, state = now
        if is_terminal(OrderStatus(status)) and not order_watch.differs(state, after):
            slot.release()
            return HttpResponse(status=204)  # seen the end already: EventSource stops reconnecting
        body = _Events(events(order_id, after, read), slot)
    except BaseException:
        slot.release()
        raise
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def busy() -> dict[str, str]:
    """Headers of the 503 answered when every slot is taken."""
    return {"Retry-After": str(max(1, order_watch.BUSY_RETRY_MS // 1000))}
