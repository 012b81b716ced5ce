"""The multiprocess folder: every process (gunicorn's workers, the job worker, the SMS gateway) writes its
counters and histograms to its own files there, and /metrics in any web worker sums them all.

`topup serve` empties it once at start and hands it to its children; `topup web` started alone empties it
too, unless PROMETHEUS_MULTIPROC_DIR is already set (then whoever set it owns it); other processes join it.
prometheus-client chooses its storage when first imported, so this runs before anything imports it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final

ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


def prepare(folder: Path, *, fresh: bool) -> None:
    """Make `folder` this process's (and its children's) multiprocess folder; `fresh`: empty it first."""
    folder.mkdir(parents=True, exist_ok=True)
    if fresh:
        for old in folder.glob("*.db"):
            old.unlink(missing_ok=True)
    os.environ[ENV] = str(folder)


def join(folder: Path) -> None:
    """Write to the shared folder (the one set, else `folder`), if prometheus-client is not loaded yet."""
    if "prometheus_client" in sys.modules:
        return  # too late to switch this process's storage: it keeps its own figures
    prepare(Path(os.environ.get(ENV) or folder), fresh=False)


def is_shared() -> bool:
    """Whether this process's metrics live in the multiprocess folder (else in its own memory only)."""
    from prometheus_client import values  # noqa: PLC0415 - after join() chose the storage

    return values.ValueClass is not values.MutexValue


def exited(pid: int | None = None) -> None:
    """A process ended: drop its live gauges' files (its counters stay in the sums)."""
    if is_shared():
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
