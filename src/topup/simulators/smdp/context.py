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


class AnswerCache:
    """Answers by (requester, function, functionCallIdentifier): a repeated call gets the first answer."""

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        self._size = size
        self._answers: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self.replays = 0

    def get(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
            self.replays += 1
        return answer

    def put(self, key: tuple[str, str, str], answer: dict[str, Any]) -> None:
        self._answers[key] = answer
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
