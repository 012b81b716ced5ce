"""Gunicorn settings module (`topup web` passes `--config python:topup.metrics.gunicorn_hooks`)."""

from __future__ import annotations

from typing import Any

from topup.metrics import processes


def child_exit(server: Any, worker: Any) -> None:
    """A web worker ended: its live gauges leave the multiprocess folder."""
    processes.exited(int(worker.pid))
