"""The `topup cluster` command line: up, down, status (and bench, see topup.cluster.bench)."""

from __future__ import annotations

import argparse
import os
import sys

from topup.cluster import control


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser(
        "up", help="create the hosts and start everything (root, `make cluster-deps` first)"
    )
    up.add_argument("--pairs", type=int, choices=(1, 2), default=2, help="web+worker node pairs (default 2)")
    up.add_argument(
        "--via",
        choices=("pgbouncer", "haproxy"),
        default="pgbouncer",
        help="nodes reach the primary through PgBouncer (transaction mode, default) or HAProxy :5000",
    )
    actions.add_parser("down", help="stop every process, delete the hosts, the bridge and the data")
    actions.add_parser("status", help="processes, Patroni's members, the web through HAProxy")
    bench = actions.add_parser(
        "bench",
        help="top-ups/s through HAProxy and pgbench tps on a fresh cluster per pair count (up, bench, down)",
    )
    bench.add_argument("--pairs", type=int, choices=(1, 2), action="append", help="1 and/or 2 (default both)")
    bench.add_argument("--orders", type=int, default=400, help="top-ups per run (default %(default)s)")
    bench.add_argument("--concurrency", type=int, default=16, help="client tasks (default %(default)s)")
    actions.add_parser(
        "failover",
        help="on a cluster up with --pairs 2: steady load, kill the primary's host, then web2 and worker2; "
        "audit every order (exit 1 on a broken promise; report in failover.json)",
    )


def run(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        sys.exit("topup cluster: network namespaces need root")
    try:
        if args.action == "up":
            control.up(pairs=args.pairs, via=args.via)
        elif args.action == "down":
            control.down()
        elif args.action == "bench":
            from topup.cluster import bench  # noqa: PLC0415 - it imports the settings

            runs = [bench.run_one(p, orders=args.orders, concurrency=args.concurrency)
                    for p in sorted(set(args.pairs or (1, 2)))]  # fmt: skip
            print(bench.summary(runs))
        elif args.action == "failover":
            from topup.cluster import failover  # noqa: PLC0415 - it imports the settings

            report = failover.run()
            print(failover.summary(report))
            if report["violations"]:
                sys.exit(1)
        else:
            print(control.status_text(control.status()))
    except control.ClusterError as exc:
        sys.exit(f"topup cluster {args.action}: {exc}")
