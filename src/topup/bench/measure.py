"""What `topup bench` measures besides the client's own clock: the CPU each part of the server spent in the
measured window (see `topup.bench.cpu`), and pgbench's TPC-B tps on the same PostgreSQL afterwards.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from pathlib import Path

from topup.bench import cpu, pg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from topup.serve import PID_FILE  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    group = parser.add_argument_group("CPU per part and pgbench")
    add = group.add_argument
    default_pid_file = CONFIG.data_dir / PID_FILE
    add("--pid-file", type=Path, default=default_pid_file, help="`topup serve`'s pid file (%(default)s)")
    add("--database-url", default=CONFIG.database_url, help="the server's database (for PostgreSQL's CPU)")
    add("--no-pgbench", action="store_true", help="skip pgbench TPC-B after the top-ups")
    add("--pgbench-scale", type=int, default=10, help="pgbench -i -s (default %(default)s)")
    add("--pgbench-clients", type=int, default=8, help="pgbench -c (default %(default)s)")
    add("--pgbench-threads", type=int, default=2, help="pgbench -j (default %(default)s)")
    add("--pgbench-seconds", type=int, default=15, help="pgbench -T (default %(default)s)")


class Window:
    """Samples every part's CPU ticks at `start()` and `stop()`; parts whose processes cannot be found
    are reported "not measured" with the reason."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._ticks_per_s = cpu.ticks_per_second()
        self._roots = cpu.roots_from_pid_file(args.pid_file)
        self._missing: dict[str, str] = {}
        if not self._roots:
            reason = f"no readable pid file {args.pid_file} (is `topup serve` running?)"
            self._missing.update(dict.fromkeys(("web", "worker", "simulators"), reason))
        postmaster = pg.find_postmaster(args.database_url, self._ticks_per_s)
        if postmaster.pid is None:
            self._missing["postgres"] = postmaster.reason
        else:
            self._roots["postgres"] = [postmaster.pid]
        self._roots["bench_client"] = [os.getpid()]
        self._database_url = args.database_url
        self._before: dict[str, int | None] = {}
        self._backends: dict[int, int] = {}
        self._started = 0.0

    def _backend_ticks(self) -> dict[int, int] | None:
        """Own CPU ticks of this database's backends now (None: PostgreSQL not measured)."""
        if "postgres" not in self._roots:
            return None
        pids = pg.database_backends(self._database_url)
        return None if pids is None else cpu.backend_ticks(pids, cpu.all_stats())

    def start(self) -> None:
        self._backends = self._backend_ticks() or {}
        self._before = cpu.sample(self._roots)
        self._started = time.perf_counter()

    def stop(self, delivered: int, unit: str = "delivered top-up") -> dict[str, object]:
        after: dict[str, int | None] = dict(cpu.sample(self._roots))
        window_s = time.perf_counter() - self._started
        backends = self._backend_ticks()
        if backends is not None:
            self._before["postgres_db"], after["postgres_db"] = cpu.matched_ticks(self._backends, backends)
        elif "postgres" in self._missing:
            self._missing["postgres_db"] = self._missing["postgres"]
        report = cpu.cpu_report(
            self._before,
            after,
            delivered=delivered,
            window_s=window_s,
            ticks_per_s=self._ticks_per_s,
            missing=self._missing,
            unit=unit,
        )
        if "postgres" in self._roots:
            report["note"] = (
                "postgres is the whole server (other databases' load counted too); postgres_db only the "
                "backends connected to this database at the end of the window"
            )
        return report


def pgbench(args: argparse.Namespace, topups_per_s: float) -> dict[str, object]:
    """pgbench's result and the ratio top-ups/s ÷ tps, or why it was not run."""
    if args.no_pgbench:
        return {"tps": None, "note": "not run (--no-pgbench)"}
    if not pg.is_postgres(args.database_url):
        return {"tps": None, "note": "not run: the database is not PostgreSQL"}
    result = pg.run_pgbench(
        args.database_url,
        scale=args.pgbench_scale,
        clients=args.pgbench_clients,
        threads=args.pgbench_threads,
        seconds=args.pgbench_seconds,
    )
    tps = result.get("tps")
    result["ratio"] = round(topups_per_s / tps, 4) if isinstance(tps, float) and tps > 0 else None
    return result


def format_pgbench(result: Mapping[str, object]) -> str:
    if result.get("tps") is None:
        return f"pgbench: {result.get('note')}"
    return (
        f"pgbench TPC-B (-s {result['scale']} -c {result['clients']} -j {result['threads']} "
        f"-T {result['seconds']}): {result['tps']:.0f} tps; top-ups/s ÷ tps = {result['ratio']}"
    )
