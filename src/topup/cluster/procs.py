"""The cluster's processes: each started inside its host's namespace, its pid kept in pids.json and its
output in logs/<name>.log under the cluster folder; stopped with all else left in a namespace."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from topup.cluster import net
from topup.cluster.layout import cluster_dir, namespace

POSTGRES_USER = ("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--")


def _pid_file() -> Path:
    return cluster_dir() / "pids.json"


def pids() -> dict[str, dict[str, object]]:
    """name -> {"host", "pid"} of the processes `start` started."""
    try:
        loaded = json.loads(_pid_file().read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _remember(name: str, host: str, pid: int) -> None:
    table = pids()
    table[name] = {"host": host, "pid": pid}
    scratch = _pid_file().with_suffix(".tmp")
    scratch.write_text(json.dumps(table, indent=1))
    scratch.replace(_pid_file())


def start(
    name: str,
    host: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    as_postgres: bool = False,
    cwd: Path | None = None,
) -> int:
    """Start `argv` in host's namespace (as the postgres user when asked), in a session of its own."""
    logs = cluster_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = ["ip", "netns", "exec", namespace(host), *(POSTGRES_USER if as_postgres else ()), *argv]
    with (logs / f"{name}.log").open("ab") as out:
        process = subprocess.Popen(
            command, env=dict(env) if env is not None else None, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=cwd,
        )  # fmt: skip
    _remember(name, host, process.pid)
    return process.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (our own child, not yet reaped) is dead
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def kill(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def stop_namespaces(grace_s: float = 8.0) -> int:
    """SIGTERM everything in the cluster's namespaces, SIGKILL what is left after `grace_s`; how many there
    were. Only processes inside tpc-* namespaces are touched: they are all this command's."""
    victims = {pid for ns in net.namespaces() for pid in net.pids_in(ns)}
    for pid in victims:
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(pid) for pid in victims):
        time.sleep(0.2)
    for ns in net.namespaces():
        for pid in net.pids_in(ns):
            kill(pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(net.pids_in(ns) for ns in net.namespaces()):
        time.sleep(0.1)
    return len(victims)


def forget_all() -> None:
    _pid_file().unlink(missing_ok=True)


def kill_host(host: str) -> int:
    """SIGKILL every process of the host (a machine dying: PostgreSQL, Patroni, etcd alike); how many."""
    victims = net.pids_in(namespace(host))
    for pid in victims:
        kill(pid)
    return len(victims)
