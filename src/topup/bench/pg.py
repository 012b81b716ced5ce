"""The PostgreSQL side of `topup bench`: find the server's postmaster on this machine (for its CPU) and run
pgbench's TPC-B on a scratch database of the same server, as a yardstick for top-ups/s.

The postmaster is the parent of our own backend (`pg_backend_pid()`); it counts as this machine's only when
/proc shows that process started when PostgreSQL says it did (`pg_postmaster_start_time()`), so a server
in another pid namespace or on another host is reported "not measured" instead of some unrelated process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from topup.bench.cpu import PROC, read_stat

START_TOLERANCE_S = 2.0
PGBENCH_PATHS = ("/usr/lib/postgresql/15/bin/pgbench",)
TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Postmaster:
    pid: int | None
    reason: str  # why pid is None; "" when found


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def boot_time_s(proc: Path = PROC) -> float | None:
    for line in (proc / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return None


def same_start(start_ticks: int, started: datetime, ticks_per_s: int, proc: Path = PROC) -> bool:
    """Whether a process that started `start_ticks` after boot started at `started` (within 2 s)."""
    boot = boot_time_s(proc)
    if boot is None:
        return False
    return abs(boot + start_ticks / ticks_per_s - started.timestamp()) <= START_TOLERANCE_S


def find_postmaster(url: str, ticks_per_s: int, proc: Path = PROC) -> Postmaster:
    """The postmaster of the server at `url` when it runs on this machine."""
    if not is_postgres(url):
        return Postmaster(None, "the database is not PostgreSQL")
    import psycopg  # noqa: PLC0415 - only PostgreSQL runs need it

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_backend_pid(), pg_postmaster_start_time()").fetchone()
    except psycopg.Error as exc:
        return Postmaster(None, f"cannot connect ({type(exc).__name__})")
    assert row is not None
    backend = read_stat(int(row[0]), proc)
    postmaster = read_stat(backend.ppid, proc) if backend is not None else None
    if postmaster is None or not same_start(postmaster.start_ticks, row[1], ticks_per_s, proc):
        return Postmaster(None, "the server does not run on this machine (or not in this pid namespace)")
    return Postmaster(postmaster.pid, "")


def database_backends(url: str) -> list[int] | None:
    """Pids of the backends connected to the URL's database, ours excluded; None when it cannot be asked."""
    import psycopg  # noqa: PLC0415

    query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return [int(row[0]) for row in conn.execute(query).fetchall()]
    except psycopg.Error:
        return None


def scratch_url(url: str) -> tuple[str, str]:
    """(scratch database name, its URL): the server's database name plus `_pgbench`."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'topup'}_pgbench"[:63]
    return name, urlunsplit(parts._replace(path=f"/{name}"))


def pgbench_binary() -> str | None:
    found = shutil.which("pgbench")
    return found or next((p for p in PGBENCH_PATHS if Path(p).exists()), None)


def parse_tps(output: str) -> float | None:
    match = TPS.search(output)
    return float(match.group(1)) if match else None


def run_pgbench(url: str, *, scale: int, clients: int, threads: int, seconds: int) -> dict[str, object]:
    """TPC-B on a scratch database created and dropped around the run; {"tps": None, "note"} on failure."""
    settings: dict[str, object] = {"scale": scale, "clients": clients, "threads": threads, "seconds": seconds}
    binary = pgbench_binary()
    if binary is None:
        return {"tps": None, "note": "pgbench not found (Debian: postgresql-client)", **settings}
    import psycopg  # noqa: PLC0415

    name, scratch = scratch_url(url)
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        init = [binary, "-i", "-q", "-s", str(scale), scratch]
        subprocess.run(init, check=True, capture_output=True, timeout=600)  # noqa: S603
        load = [binary, "-c", str(clients), "-j", str(threads), "-T", str(seconds), scratch]
        done = subprocess.run(load, check=True, capture_output=True, text=True, timeout=seconds + 120)  # noqa: S603
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return {"tps": None, "note": f"pgbench failed: {exc}", **settings}
    finally:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"tps": parse_tps(done.stdout), **settings}
