"""CPU seconds each part of a running Topup spent during `topup bench`'s measured window, read from /proc.

A part is a set of process trees (web: gunicorn's master and workers; PostgreSQL: the postmaster and its
backends). A tree's CPU is the sum, over its live processes, of utime+stime (their own) plus cutime+cstime
(their reaped children's): a worker gunicorn replaced or a backend that disconnected is counted in its
parent's cutime, and a live process is never also in anyone's cutime, so nothing is counted twice.
The difference between two samples is what the part spent in between, whatever else the machine did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
PARTS = ("web", "worker", "postgres", "postgres_db", "simulators", "bench_client", "serve", "other")
PLATFORM = ("web", "worker", "postgres")  # what a production deployment pays for per top-up
# postgres_db: only the backends connected to the bench's database (Django keeps its connections, so they
# live through the window); preferred in the platform total, since other databases' load is not ours.


@dataclass(frozen=True, slots=True)
class ProcStat:
    """One line of /proc/<pid>/stat, times in clock ticks."""

    pid: int
    comm: str
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int
    start_ticks: int  # since boot

    @property
    def ticks(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(text: str) -> ProcStat:
    """Parse a stat line; the command name is in parentheses and may itself hold spaces or parentheses."""
    head, _, tail = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = tail.split()  # fields[0] is field 3 (state) of proc(5)
    return ProcStat(
        pid=int(pid_text),
        comm=comm,
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
        start_ticks=int(fields[19]),
    )


def read_stat(pid: int, proc: Path = PROC) -> ProcStat | None:
    """The process's stat, None when it is gone (or never was)."""
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def all_stats(proc: Path = PROC) -> dict[int, ProcStat]:
    """Every process readable now; ones that exit while we read are skipped."""
    found: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name), proc)) is not None:
            found[stat.pid] = stat
    return found


def tree_ticks(root: int, stats: Mapping[int, ProcStat], *, own_only: bool = False) -> int | None:
    """CPU ticks of the root and its live descendants (see the module docstring); None when root is gone."""
    if root not in stats:
        return None
    if own_only:  # a supervisor whose children are counted as parts of their own
        return stats[root].utime + stats[root].stime
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += stats[pid].ticks
        todo.extend(children.get(pid, ()))
    return total


def part_of(role: str) -> str:
    """The report's part for a role named in `topup serve`'s pid file."""
    if role in {"web", "worker"}:
        return role
    return "simulators" if "simulator" in role else "other"


def roots_from_pid_file(path: Path) -> dict[str, list[int]]:
    """Part -> root pids, from `topup serve`'s pid file ({} when it cannot be read)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    roots: dict[str, list[int]] = {}
    if isinstance(data, dict) and isinstance(data.get("serve"), int):
        roots["serve"] = [data["serve"]]
    for child in data.get("children", []) if isinstance(data, dict) else []:
        if isinstance(child, dict) and isinstance(child.get("pid"), int):
            roots.setdefault(part_of(str(child.get("role"))), []).append(child["pid"])
    return roots


def sample(roots: Mapping[str, Iterable[int]], proc: Path = PROC) -> dict[str, int | None]:
    """Part -> CPU ticks now; None when none of the part's roots is alive."""
    stats = all_stats(proc)
    ticks: dict[str, int | None] = {}
    for part, pids in roots.items():
        found = [tree_ticks(pid, stats, own_only=part == "serve") for pid in pids]
        alive = [t for t in found if t is not None]
        ticks[part] = sum(alive) if alive else None
    return ticks


def backend_ticks(pids: Iterable[int], stats: Mapping[int, ProcStat]) -> dict[int, int]:
    """Pid -> own CPU ticks of each of those processes still alive."""
    return {pid: stats[pid].utime + stats[pid].stime for pid in pids if pid in stats}


def matched_ticks(before: Mapping[int, int], after: Mapping[int, int]) -> tuple[int, int]:
    """(before, after) sums over the processes alive at the end, so their difference is what they spent in
    between: one that started meanwhile counts from zero, one that ended meanwhile is not counted at all."""
    return sum(before.get(pid, 0) for pid in after), sum(after.values())


def cpu_report(
    before: Mapping[str, int | None],
    after: Mapping[str, int | None],
    *,
    delivered: int,
    window_s: float,
    ticks_per_s: int,
    missing: Mapping[str, str] | None = None,
    unit: str = "delivered top-up",
) -> dict[str, object]:
    """Per part: CPU seconds in the window and milliseconds per `unit` (`delivered` of them); a part without
    both samples is "not measured" with the reason in `missing` (or "process not found")."""
    parts: dict[str, dict[str, object]] = {}
    for part in PARTS:
        start, end = before.get(part), after.get(part)
        if start is None or end is None:
            if part in before or part in after or (missing and part in missing):
                reason = (missing or {}).get(part, "process not found")
                parts[part] = {"cpu_s": None, "ms_each": None, "note": f"not measured: {reason}"}
            continue
        cpu_s = max(end - start, 0) / ticks_per_s
        parts[part] = {"cpu_s": round(cpu_s, 3), "ms_each": _per(cpu_s, delivered)}
    postgres = "postgres_db" if isinstance(parts.get("postgres_db", {}).get("cpu_s"), float) else "postgres"
    platform = [parts[p]["cpu_s"] for p in (*PLATFORM[:2], postgres) if p in parts]
    complete = len(platform) == len(PLATFORM) and all(isinstance(v, float) for v in platform)
    platform_s = sum(v for v in platform if isinstance(v, float)) if complete else None
    return {
        "window_s": round(window_s, 3),
        "unit": unit,
        "delivered": delivered,
        "parts": parts,
        "platform_ms_each": None if platform_s is None else _per(platform_s, delivered),
        "platform_parts": ["web", "worker", postgres],
    }


def _per(cpu_s: float, delivered: int) -> float | None:
    return round(cpu_s * 1000 / delivered, 2) if delivered else None


def ticks_per_second() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def format_cpu(cpu: Mapping[str, object]) -> list[str]:
    """The report's lines on CPU use, one per part."""
    lines = [f"CPU per {cpu['unit']} over {cpu['window_s']} s ({cpu['delivered']} of them):"]
    parts = cpu["parts"]
    assert isinstance(parts, Mapping)
    for part, values in parts.items():
        if values["cpu_s"] is None:
            lines.append(f"  {part:<13} {values['note']}")
        else:
            per = values["ms_each"]
            per_text = "-" if per is None else f"{per:.2f} ms"
            lines.append(f"  {part:<13} {per_text:>11}  ({values['cpu_s']} s)")
    platform = cpu["platform_ms_each"]
    named = "+".join(cpu.get("platform_parts", PLATFORM))  # type: ignore[arg-type]
    lines.append(f"  platform ({named}) {'-' if platform is None else f'{platform:.2f} ms'}")
    return lines
