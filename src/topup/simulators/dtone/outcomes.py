"""How a confirmed transaction ends: after a delay, SUBMITTED then COMPLETED or DECLINED, then a callback.

DT One's sandbox decides the outcome by the last three digits of the credit party's number; this simulator
keeps that convention for numbers ending in [1-3]0[0-7], and completes every other number (a number that
is not a line of the product's operator is DECLINED-INVALID-CREDIT-PARTY, as the operator would):

    x00 COMPLETED           x01 COMPLETED (PIN-based in DT One)    x02 DECLINED-INVALID-CREDIT-PARTY
    x03 DECLINED-BARRED-CREDIT-PARTY   x04 DECLINED-OPERATOR-CURRENTLY-UNAVAILABLE
    x05 DECLINED-DUPLICATED-TRANSACTION   x06 DECLINED   x07 DECLINED-EXCEPTION
    1xx at least 3 s, 2xx at least 20 s, 3xx at least 5 minutes (times --sandbox-delay-scale)

Callbacks go on COMPLETED, DECLINED, REJECTED and REVERSED; a non-2xx answer is retried a few times, then the
client has to poll. DVS documents no signature on callbacks: a client authenticates them by a secret in
its own callback URL and by reading the transaction back.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Final

import aiohttp
from aiohttp import web

from topup.simulators.carriers.faults import Draw, Faults
from topup.simulators.carriers.numbering import locate
from topup.simulators.dtone.state import AccountState, Transaction
from topup.simulators.dtone.wire import transaction_json

log = logging.getLogger(__name__)

SANDBOX_OUTCOMES: Final = {
    "0": "COMPLETED",
    "1": "COMPLETED",
    "2": "DECLINED-INVALID-CREDIT-PARTY",
    "3": "DECLINED-BARRED-CREDIT-PARTY",
    "4": "DECLINED-OPERATOR-CURRENTLY-UNAVAILABLE",
    "5": "DECLINED-DUPLICATED-TRANSACTION",
    "6": "DECLINED",
    "7": "DECLINED-EXCEPTION",
}
SANDBOX_DELAYS_S: Final = {"1": 3.0, "2": 20.0, "3": 300.0}
CALLBACK_RETRIES_S: Final = (0.5, 2.0, 5.0)  # waits between the attempts after the first
# DVS's transactions guide draws a callback on the way to COMPLETED, DECLINED, REJECTED and REVERSED (a
# cancel is the client's own request, answered in its response).
CALLBACK_STATUSES: Final = frozenset({"COMPLETED", "DECLINED", "REJECTED", "REVERSED"})


class FaultBoard:
    """The account's fault settings and their seeded draws (one account: no per-network split)."""

    def __init__(self, faults: Faults, timeout_sleep_s: float, seed: int | None) -> None:
        self.faults, self.timeout_sleep_s = faults, timeout_sleep_s
        self._rng = random.Random(seed)
        self.drawn = {draw.value: 0 for draw in Draw}  # how often each happened (GET /sim/faults)

    def reseed(self, seed: object) -> None:
        self._rng = random.Random(seed if isinstance(seed, int) else None)

    def draw(self) -> Draw:
        faults, drawn = self.faults, Draw.NORMAL
        if faults.error_rate and self._rng.random() < faults.error_rate:
            drawn = Draw.ERROR
        elif faults.timeout_rate and self._rng.random() < faults.timeout_rate:
            drawn = Draw.TIMEOUT_APPLIED if self._rng.random() < 0.5 else Draw.TIMEOUT_DROPPED
        self.drawn[drawn.value] += 1
        return drawn


@dataclass
class Clock:
    """How long operators take, and the callbacks' record (for inspection)."""

    processing_s: float = 0.2
    sandbox_delay_scale: float = 1.0
    callbacks: list[tuple[int, str, int]] = field(default_factory=list)  # (id, status, HTTP status)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


STATE: Final = web.AppKey("state", AccountState)
FAULTS: Final = web.AppKey("faults", FaultBoard)
CLOCK: Final = web.AppKey("clock", Clock)


def outcome_of(tx: Transaction) -> tuple[str, float]:
    """(final status, seconds until it) for a confirmed transaction, by the sandbox conventions."""
    suffix = tx.msisdn[-3:]
    if suffix[0] in SANDBOX_DELAYS_S and suffix[1] == "0" and suffix[2] in SANDBOX_OUTCOMES:
        return SANDBOX_OUTCOMES[suffix[2]], SANDBOX_DELAYS_S[suffix[0]]
    if locate(tx.msisdn).network != tx.product.network:
        return "DECLINED-INVALID-CREDIT-PARTY", 0.0
    return "COMPLETED", 0.0


def settle(state: AccountState, clock: Clock, tx: Transaction) -> None:
    """Let the operator process a confirmed transaction in the background."""
    task = asyncio.get_running_loop().create_task(_progress(state, clock, tx))
    clock.tasks.add(task)
    task.add_done_callback(clock.tasks.discard)


async def _progress(state: AccountState, clock: Clock, tx: Transaction) -> None:
    final, sandbox_s = outcome_of(tx)
    delay_s = clock.processing_s + sandbox_s * clock.sandbox_delay_scale
    await asyncio.sleep(delay_s / 2)
    state.move(tx, "SUBMITTED")
    await asyncio.sleep(delay_s / 2)
    state.move(tx, final)
    await notify(clock, tx)


async def notify(clock: Clock, tx: Transaction) -> None:
    """POST the transaction to its callback URL, retried while the answer is not 2xx."""
    if not tx.callback_url or tx.status_class not in CALLBACK_STATUSES:
        return
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for wait_s in (0.0, *CALLBACK_RETRIES_S):
            await asyncio.sleep(wait_s)
            try:
                async with session.post(tx.callback_url, json=transaction_json(tx)) as answer:
                    clock.callbacks.append((tx.id, tx.status, answer.status))
                    if 200 <= answer.status < 300:
                        return
            except (aiohttp.ClientError, TimeoutError) as exc:
                clock.callbacks.append((tx.id, tx.status, 0))
                log.info("callback of %s failed: %s", tx.id, exc)
