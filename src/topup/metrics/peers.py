"""Timing calls to peers: `with peer_call("dtone", "topup"):` around each call an adapter makes.

Importable before Django is set up (adapters are loaded by `topup serve` and the simulators' tools).
Peers: `carrier:<network>` (a carrier's own gateway), `dtone`, `smdp`, `smsc`, `stripe`, `smtp`, `ecb`,
`cash` (a kiosk's cash acceptor), `partner` (partners' status callbacks).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from topup.metrics import series


class _Answer(Protocol):
    @property
    def status_code(self) -> int: ...


_R = TypeVar("_R", bound=_Answer)


class PeerCall:
    """The call being timed: `failed(code)` counts an error the peer answered (not an exception)."""

    def __init__(self, peer: str, operation: str) -> None:
        self.peer, self.operation, self.error = peer, operation, ""

    def failed(self, code: str) -> None:
        self.error = code

    def answer(self, response: _R) -> _R:
        """An HTTP answer (returned as it is): a 5xx status counts as an error of the peer."""
        if response.status_code >= 500:
            self.failed(f"http_{response.status_code}")
        return response


@contextmanager
def peer_call(peer: str, operation: str) -> Iterator[PeerCall]:
    """Time one call to a peer; an exception leaving the block, or `failed()`, counts as an error."""
    call = PeerCall(peer, operation)
    started = time.perf_counter()
    try:
        yield call
    except BaseException as exc:
        call.failed(type(exc).__name__)
        raise
    finally:
        series.PEER_CALL_SECONDS.labels(peer, operation).observe(time.perf_counter() - started)
        if call.error:
            series.PEER_CALL_ERRORS.labels(peer, operation, call.error).inc()
