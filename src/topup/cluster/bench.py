"""`topup cluster bench`: top-ups/s through HAProxy with one and with two web+worker pairs, and pgbench's
TPC-B on the same cluster: how throughput grows with nodes and where the database stops it.

For each pair count: `topup cluster up --pairs N`, `topup bench` (the same order load as on one machine)
against :8080, pgbench (`-i` through HAProxy :5000, the run through PgBouncer :6432, database `pgbench`), then
`topup cluster down`. Each result goes to bench-<N>.json in the cluster folder.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from topup.bench.pg import parse_tps, pgbench_binary
from topup.cluster import configs, control, nodes
from topup.cluster.layout import Urls, cluster_dir
from topup.settings import DEMO_CARRIER_API_KEY, DEMO_PAYMENTS_API_KEY


def _topup_bench(orders: int, concurrency: int, admin_key: str, direct_url: str) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "topup.cli", "bench", "--json", "--allow-remote", "--no-pgbench",
        "--url", Urls.web, "--payments-url", Urls.payments, "--carriers-url", Urls.carriers,
        "--payments-api-key", DEMO_PAYMENTS_API_KEY, "--carrier-api-key", DEMO_CARRIER_API_KEY,
        "--admin-key", admin_key, "--database-url", direct_url,
        "--orders", str(orders), "--concurrency", str(concurrency),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if not done.stdout.strip():
        return {"error": done.stderr[-2000:]}
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _pgbench(password: str, *, scale: int, clients: int, seconds: int) -> dict[str, object]:
    binary = pgbench_binary()
    if binary is None:
        return {"tps": None, "note": "pgbench not found"}
    direct = nodes.database_url(password, via="haproxy").rsplit("/", 1)[0] + "/pgbench"
    pooled = nodes.database_url(password, via="pgbouncer").rsplit("/", 1)[0] + "/pgbench"
    subprocess.run(
        [binary, "-i", "-q", "-s", str(scale), direct], check=True, capture_output=True, timeout=600
    )
    load = [binary, "-c", str(clients), "-j", "2", "-T", str(seconds), pooled]
    done = subprocess.run(load, capture_output=True, text=True, check=False, timeout=seconds + 120)
    tps = parse_tps(done.stdout)
    note = "" if tps is not None else re.sub(r"postgresql://\S+", "***", done.stderr[-500:])
    return {
        "tps": tps,
        "scale": scale,
        "clients": clients,
        "seconds": seconds,
        "via": "pgbouncer",
        "note": note,
    }


def run_one(pairs: int, *, orders: int, concurrency: int) -> dict[str, Any]:
    made = control.up(pairs=pairs)
    try:
        password = configs.passwords()["topup_password"]
        bench = _topup_bench(orders, concurrency, str(made["admin_key"]), str(made["direct_url"]))
        pgbench = _pgbench(password, scale=10, clients=8, seconds=15)
    finally:
        control.down()
    result = {
        "pairs": pairs,
        "orders": orders,
        "concurrency": concurrency,
        "topups_per_s": bench.get("topups_per_s"),
        "delivered": bench.get("delivered"),
        "duplicates": bench.get("duplicates"),
        "ledger_balanced": bench.get("ledger_balanced"),
        "errors": bench.get("errors"),
        "p50_ms": bench.get("p50_ms"),
        "p99_ms": bench.get("p99_ms"),
        "postgres_cpu": (bench.get("cpu") or {}).get("parts", {}).get("postgres"),
        "pgbench": pgbench,
        "bench_error": bench.get("error"),
    }
    (cluster_dir() / f"bench-{pairs}.json").write_text(json.dumps(result, indent=1))
    return result


def summary(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        tps = r["pgbench"].get("tps")
        lines.append(
            f"{r['pairs']} pair(s): {r['topups_per_s']} top-ups/s ({r['delivered']} delivered of "
            f"{r['orders']}, {r['concurrency']} tasks, duplicates {r['duplicates']}, ledger balanced "
            f"{r['ledger_balanced']}); "
            f"pgbench TPC-B {tps if tps is None else round(tps)} tps (-s 10 -c 8, through PgBouncer)"
        )
        if r.get("bench_error"):
            lines.append(f"  topup bench failed: {r['bench_error'][-300:]}")
    return "\n".join(lines)
