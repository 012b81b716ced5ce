"""Run the same action from many threads released at once, as concurrent requests would arrive."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

from topup.domain.errors import DomainError

T = TypeVar("T")


def at_once(action: Callable[[T], str], items: Sequence[T]) -> list[str]:
    """`action(item)` for every item in a thread of its own, all started together behind a barrier; each
    outcome is what the action returned or the code of the DomainError it raised."""
    start, outcomes, lock = threading.Barrier(len(items)), [], threading.Lock()

    def run(item: T) -> None:
        try:
            start.wait()
            try:
                outcome = action(item)
            except DomainError as error:
                outcome = error.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
