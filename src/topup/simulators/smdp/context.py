"""What every handler of the SM-DP+ simulator shares: state, faults, notifier, settings, answer cache."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from topup.simulators.smdp.faults import FaultBoard
from topup.simulators.smdp.notifier import ProgressNotifier
from topup.simulators.smdp.state import SmdpState

ANSWER_CACHE_SIZE: Final = 10_000
MAX_DOWNLOAD_ATTEMPTS: Final = 3


class CallIdReused(Exception):
    """The functionCallIdentifier was already used by this requester with another request body."""


class AnswerCache:
    """Answers by (requester, function, functionCallIdentifier), each with the hash of its request body:
    the same call repeated gets the first answer; the identifier with another body raises `CallIdReused`."""

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        self._size = size
        self._answers: OrderedDict[tuple[str, str, str], tuple[str, dict[str, Any]]] = OrderedDict()
        self.replays = 0
        self.refused_reuses = 0

    def get(self, key: tuple[str, str, str], request_hash: str) -> dict[str, Any] | None:
        found = self._answers.get(key)
        if found is None:
            return None
        first_hash, answer = found
        if first_hash != request_hash:
            self.refused_reuses += 1
            raise CallIdReused(key[2])
        self._answers.move_to_end(key)
        self.replays += 1
        return answer

    def put(self, key: tuple[str, str, str], request_hash: str, answer: dict[str, Any]) -> None:
        self._answers[key] = (request_hash, answer)
        self._answers.move_to_end(key)
        while len(self._answers) > self._size:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


@dataclass(slots=True)
class Context:
    state: SmdpState
    faults: FaultBoard
    notifier: ProgressNotifier
    smdp_address: str
    answers: AnswerCache = field(default_factory=AnswerCache)
    downloading: set[str] = field(default_factory=set)  # ICCIDs whose download is under way


CONTEXT: Final = web.AppKey("context", Context)
