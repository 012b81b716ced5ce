"""`topup bench`'s CPU accounting on a fake /proc tree, pgbench's output parsing and the balance schedule's
arithmetic (no processes, no network)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from topup.bench import balance, cpu, pg

TICKS = 100
T = TypeVar("T")


def _write(
    proc: Path, pid: int, comm: str, ppid: int, times: tuple[int, int, int, int], *, start: int = 0
) -> None:
    """A /proc/<pid>/stat line with the fields `cpu.parse_stat` reads (others zero)."""
    fields = ["S", str(ppid), *["0"] * 9, *map(str, times), "0", "0", "0", "0", str(start)]
    (proc / str(pid)).mkdir(parents=True, exist_ok=True)
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)} 0 0\n")


def test_parse_stat_reads_times_past_a_command_name_with_spaces_and_parentheses(tmp_path: Path) -> None:
    _write(tmp_path, 42, "gunicorn: worker (x) [topup]", 7, (11, 22, 33, 44), start=1234)
    stat = cpu.read_stat(42, tmp_path)
    assert stat == cpu.ProcStat(42, "gunicorn: worker (x) [topup]", 7, 11, 22, 33, 44, 1234)
    assert stat.ticks == 110


def test_a_real_stat_line_of_this_process_parses() -> None:
    stat = cpu.read_stat(os.getpid())
    assert stat is not None
    assert stat.utime + stat.stime >= 0


def test_tree_counts_live_descendants_and_reaped_children_once(tmp_path: Path) -> None:
    _write(tmp_path, 10, "gunicorn", 1, (5, 5, 100, 0))  # master: 100 ticks of workers it reaped
    _write(tmp_path, 11, "gunicorn", 10, (50, 10, 0, 0))
    _write(tmp_path, 12, "gunicorn", 10, (30, 0, 0, 0))
    _write(tmp_path, 13, "helper", 12, (1, 1, 0, 0))  # a grandchild
    _write(tmp_path, 20, "worker", 1, (7, 0, 0, 0))  # not in the tree
    stats = cpu.all_stats(tmp_path)
    assert cpu.tree_ticks(10, stats) == 10 + 100 + 60 + 30 + 2
    assert cpu.tree_ticks(10, stats, own_only=True) == 10
    assert cpu.tree_ticks(99, stats) is None


def test_pid_file_roles_map_to_parts(tmp_path: Path) -> None:
    pid_file = tmp_path / "serve.pids.json"
    roles = ["web", "worker", "payments simulator", "carriers simulator", "SMS gateway"]
    children = [{"role": role, "pid": 100 + n} for n, role in enumerate(roles)]
    pid_file.write_text(json.dumps({"serve": 99, "children": children}))
    assert cpu.roots_from_pid_file(pid_file) == {
        "serve": [99],
        "web": [100],
        "worker": [101],
        "simulators": [102, 103],
        "other": [104],
    }
    assert cpu.roots_from_pid_file(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert cpu.roots_from_pid_file(tmp_path / "bad.json") == {}


def test_sample_difference_is_what_each_part_spent_in_between(tmp_path: Path) -> None:
    roots = {"web": [10], "simulators": [30, 31], "worker": [20]}
    _write(tmp_path, 10, "gunicorn", 1, (100, 0, 0, 0))
    _write(tmp_path, 30, "sim", 1, (10, 0, 0, 0))
    _write(tmp_path, 31, "sim", 1, (10, 0, 0, 0))
    before = cpu.sample(roots, tmp_path)
    assert before == {"web": 100, "simulators": 20, "worker": None}
    _write(tmp_path, 10, "gunicorn", 1, (150, 50, 40, 10))  # a worker exited and was reaped meanwhile
    _write(tmp_path, 30, "sim", 1, (30, 0, 0, 0))
    _write(tmp_path, 20, "worker", 1, (5, 0, 0, 0))
    after = cpu.sample(roots, tmp_path)
    report = cpu.cpu_report(
        before, after, delivered=50, window_s=2.0, ticks_per_s=TICKS, missing={"postgres": "not PostgreSQL"}
    )
    parts = report["parts"]
    assert isinstance(parts, dict)
    assert parts["web"] == {"cpu_s": 1.5, "ms_each": 30.0}  # (250 - 100) ticks = 1.5 s over 50
    assert parts["simulators"] == {"cpu_s": 0.2, "ms_each": 4.0}
    assert parts["worker"]["cpu_s"] is None  # only seen at the end: not measured, never a guess
    assert parts["postgres"]["note"] == "not measured: not PostgreSQL"
    assert report["platform_ms_each"] is None  # worker and postgres missing: no platform total
    lines = cpu.format_cpu(report)
    assert any("not measured: not PostgreSQL" in line for line in lines)


def test_platform_total_is_web_worker_and_postgres() -> None:
    before = {"web": 0, "worker": 0, "postgres": 0, "simulators": 0}
    after = {"web": 300, "worker": 100, "postgres": 100, "simulators": 900}
    report = cpu.cpu_report(before, after, delivered=250, window_s=5.0, ticks_per_s=TICKS)
    assert report["platform_ms_each"] == 20.0  # 5 s of web+worker+postgres over 250 top-ups
    assert report["platform_parts"] == ["web", "worker", "postgres"]
    nothing = cpu.cpu_report(before, after, delivered=0, window_s=5.0, ticks_per_s=TICKS)
    assert nothing["platform_ms_each"] is None


def test_database_backends_count_what_those_alive_at_the_end_spent(tmp_path: Path) -> None:
    _write(tmp_path, 50, "postgres", 1, (40, 10, 0, 0))
    _write(tmp_path, 51, "postgres", 1, (5, 0, 0, 0))
    before = cpu.backend_ticks([50, 51, 52], cpu.all_stats(tmp_path))
    assert before == {50: 50, 51: 5}  # 52 is not a live process
    _write(tmp_path, 50, "postgres", 1, (70, 20, 0, 0))
    (tmp_path / "51" / "stat").unlink()  # disconnected in the window: not counted
    _write(tmp_path, 53, "postgres", 1, (8, 0, 0, 0))  # connected in the window: from zero
    after = cpu.backend_ticks([50, 53], cpu.all_stats(tmp_path))
    start, end = cpu.matched_ticks(before, after)
    assert end - start == (90 - 50) + 8


def test_platform_prefers_this_databases_backends_to_the_whole_server() -> None:
    before = {"web": 0, "worker": 0, "postgres": 0, "postgres_db": 0}
    after = {"web": 100, "worker": 100, "postgres": 800, "postgres_db": 200}
    report = cpu.cpu_report(before, after, delivered=100, window_s=1.0, ticks_per_s=TICKS)
    assert report["platform_parts"] == ["web", "worker", "postgres_db"]
    assert report["platform_ms_each"] == 40.0
    assert any("web+worker+postgres_db" in line for line in cpu.format_cpu(report))


def test_postmaster_counts_only_when_it_started_when_postgres_says(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu 1 2 3\nbtime 1700000000\n")
    started = datetime.fromtimestamp(1700000000 + 50, UTC)
    assert pg.same_start(5000, started, TICKS, tmp_path)  # 5000 ticks after boot = 50 s
    assert not pg.same_start(9000, started, TICKS, tmp_path)


def test_pgbench_tps_and_scratch_database() -> None:
    output = "number of failed transactions: 0 (0.000%)\ntps = 1690.413 (without initial connection time)\n"
    assert pg.parse_tps(output) == 1690.413
    assert pg.parse_tps("pgbench: error") is None
    name, url = pg.scratch_url("postgresql://postgres@127.0.0.1:5432/topup_bench?sslmode=disable")
    assert name == "topup_bench_pgbench"
    assert url == "postgresql://postgres@127.0.0.1:5432/topup_bench_pgbench?sslmode=disable"


def test_open_loop_sends_on_schedule_and_charges_queueing_to_latency() -> None:
    """A server that answers one request at a time, 30 ms each, at 100/s: later requests wait behind
    earlier ones, and their latency counts from when they were due, not when they got through."""
    clock = FakeClock()
    gate = asyncio.Lock()

    async def send(i: int) -> str:
        async with gate:
            await clock.sleep(0.030)
        return "200" if i != 3 else "503"

    due = balance.due_times(100, 0.1, start=0.0)
    assert due == pytest.approx([i / 100 for i in range(10)])
    outcome = clock.run(balance.open_loop(send, due, clock=clock.now, sleep=clock.sleep))
    assert outcome.statuses == {"200": 9, "503": 1}
    assert max(outcome.send_lag_ms) == pytest.approx(0.0)  # every request left when it was due
    # request i finishes at 0.03 * (i + 1), was due at 0.01 * i: latency 30 + 20 i ms
    assert sorted(outcome.latencies_ms) == pytest.approx([30 + 20 * i for i in range(10) if i != 3])
    report = balance.build_balance_report(outcome, rate=100, duration_s=0.1)
    assert report["sent"] == 10
    assert report["ok"] == 9
    assert report["errors"] == {"503": 1}
    assert report["p50_ms"] == pytest.approx(130.0)  # nearest rank: the 5th of 9
    assert report["max_ms"] == pytest.approx(210.0)
    assert report["achieved_rate"] == pytest.approx(9 / 0.3)  # 9 answered from t=0 to the last at 0.3 s
    assert "p99" in balance.format_balance_report(report)


class FakeClock:
    """Virtual time: `run` lets every runnable task go until all wait, then wakes the earliest sleeper
    and jumps the clock to its instant, so the schedule's arithmetic is exact and no test waits."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + max(seconds, 0.0), 0, future))
        await future

    def run(self, coroutine: Coroutine[object, object, T]) -> T:
        async def drive() -> T:
            task = asyncio.ensure_future(coroutine)
            while not task.done():
                for _ in range(50):  # each runnable task runs until it waits again
                    await asyncio.sleep(0)
                if self._sleepers:
                    self._sleepers.sort(key=lambda s: s[0])  # stable: equal instants keep their order
                    at, _, future = self._sleepers.pop(0)
                    self.t = max(self.t, at)
                    future.set_result(None)
            return task.result()

        return asyncio.run(drive())
