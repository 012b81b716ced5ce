"""The ids every log line of a request or a job carries (request, order, payment, line, job), kept in a
context variable: bound once where they become known, read by the log filter (`logs.BoundIds`), by the
job table's `request_id` default (a job made during a request carries its id) and by the outgoing calls'
`X-Request-Id` header.

A request binds its id in `channels.request_id`; the worker binds the job's (`jobscope`); a service that
loads an order binds it with `bind(order_id=...)` (nothing outside a scope: see `bind`); an SMS handled by
the gateway's pool is a scope of its own (`sms_gateway`). Each thread and each asyncio task has its own copy.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

log = logging.getLogger(__name__)

# order_request_id: the request that placed the order (`Order.request_id`), on the lines of its later requests
# and jobs (a webhook's, a delivery's), so the placing request's id finds them too.
KEYS = (
    "request_id", "client_request_id", "order_id", "order_request_id", "payment_id", "line_id", "job_id",
)  # fmt: skip
REQUEST_ID_MAX = 64  # the `job.request_id` column's length
# What we accept from a caller's X-Request-Id: no spaces, quotes or control characters to forge a log line.
_ACCEPTED = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{{0,{REQUEST_ID_MAX - 1}}}")

_NONE: Mapping[str, str] = MappingProxyType({})
_ids: ContextVar[Mapping[str, str]] = ContextVar("topup_log_ids", default=_NONE)


def current() -> Mapping[str, str]:
    """The ids bound here (read-only)."""
    return _ids.get()


def request_id() -> str:
    return _ids.get().get("request_id", "")


def job_request_id() -> str:
    """`Job.request_id`'s default: the request (or job) that queued it, "" outside any."""
    return request_id()


def new_request_id() -> str:
    """A fresh id: 32 hex digits, as random as a W3C trace id."""
    return secrets.token_hex(16)


def accepted(value: str | None) -> str:
    """A caller's X-Request-Id when it is short and of safe characters, else "" (kept as its
    `client_request_id`, never as our request id)."""
    if value and _ACCEPTED.fullmatch(value):
        return value
    return ""


def start(**ids: str | None) -> None:
    """Bind these ids alone, forgetting any bound before (a request starting on a reused thread); without a
    request_id, this ends the scope (`bind` does nothing until the next)."""
    _ids.set(_with(_NONE, ids))


def bind(**ids: str | None) -> None:
    """Add ids to the current request's or job's (an empty value is left out); undone with its scope.

    Outside any scope (no request_id bound: a thread of a pool, a command) it does nothing: the ids would
    stay on that thread and be written on the lines of whoever it serves next."""
    found = _ids.get()
    if "request_id" not in found:
        log.debug("ids %s not bound: outside any request or job", sorted(ids))
        return
    _ids.set(_with(found, ids))


def _with(found: Mapping[str, str], ids: Mapping[str, str | None]) -> Mapping[str, str]:
    kept = {key: str(value) for key, value in ids.items() if value}
    return MappingProxyType({**found, **kept}) if kept else found


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Bind ids for the block: the ids bound inside it (by `bind`) are forgotten at its end too. With a
    request_id it is a scope of its own (an SMS, a job); without one it adds to the current scope."""
    token = _ids.set(_with(_NONE if "request_id" in ids else _ids.get(), ids))
    try:
        yield
    finally:
        _ids.reset(token)
