"""How Topup's own processes run on the cluster: their settings, the one-time preparation, the simulators.

`python -m topup.cluster.nodes prepare` migrates and seeds the demo once (as `topup serve` does) and prints
the demo admin key; `python -m topup.cluster.nodes sims` runs the simulators on the sims host, restarting
one that dies.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from topup.cluster.layout import (
    ADDRESSES,
    LB,
    LB_WEB_PORT,
    PGBOUNCER_PORT,
    PRIMARY_PORT,
    REPLICA_PORT,
    SIMS,
    SIMS_BASE_PORT,
)


def database_url(password: str, *, via: str, replica: bool = False) -> str:
    """The primary (or, with `replica`, the replicas) through PgBouncer in transaction mode, or straight
    through HAProxy when via='haproxy'."""
    if via == "pgbouncer":
        return f"postgresql://topup:{password}@{LB}:{PGBOUNCER_PORT}/{'topup_ro' if replica else 'topup'}"
    return f"postgresql://topup:{password}@{LB}:{REPLICA_PORT if replica else PRIMARY_PORT}/topup"


def database_env(password: str, *, via: str) -> dict[str, str]:
    """The TOPUP_DATABASE_* settings of a node: the primary, the replicas for reads that may lag and, through
    PgBouncer, no named prepared statements (TOPUP_DATABASE_POOLER) and LISTEN on HAProxy's primary port
    directly (a session of its own: LISTEN does not survive a transaction pooler)."""
    env = {
        "TOPUP_DATABASE_URL": database_url(password, via=via),
        "TOPUP_DATABASE_REPLICA_URL": database_url(password, via=via, replica=True),
    }
    if via == "pgbouncer":
        env["TOPUP_DATABASE_POOLER"] = "transaction"
        env["TOPUP_DATABASE_LISTEN_URL"] = database_url(password, via="haproxy")
    return env


def node_env(host: str, data_dir: str, database: dict[str, str]) -> dict[str, str]:
    """The environment of a Topup process on `host`: this one's, without any TOPUP_* of the caller, plus the
    cluster's addresses. Every node shares the demo's secrets (they are the defaults), so any of them can
    verify what another signed."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TOPUP_") and k != "DJANGO_SETTINGS_MODULE"
    }
    sims = f"http://{SIMS}"
    env.update(
        {
            "TOPUP_ENV": "demo",
            "TOPUP_HOST": ADDRESSES.get(host, "127.0.0.1"),
            "TOPUP_PORT": str(SIMS_BASE_PORT if host == "sims" else 8000),
            "TOPUP_DATA_DIR": data_dir,
            "TOPUP_PUBLIC_URL": f"http://{LB}:{LB_WEB_PORT}",
            "TOPUP_PAYMENTS_URL": f"{sims}:{SIMS_BASE_PORT + 1}",
            "TOPUP_CARRIERS_URL": f"{sims}:{SIMS_BASE_PORT + 2}",
            "TOPUP_SMDP_URL": f"{sims}:{SIMS_BASE_PORT + 3}",
            "TOPUP_SMSC_HOST": SIMS,
            "TOPUP_SMSC_PORT": str(SIMS_BASE_PORT + 4),
            "TOPUP_DTONE_URL": f"{sims}:{SIMS_BASE_PORT + 7}",
            "TOPUP_CASH_URL": f"{sims}:{SIMS_BASE_PORT + 8}",
        }
    )
    env.update(database)
    return env


def prepare() -> None:
    from topup import serve  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    prepared = serve._prepare(CONFIG)
    if prepared is not None:
        print(f"demo admin key {prepared.admin_key}", flush=True)


def run_simulators() -> None:
    """The demo's simulators (those `topup serve` starts), supervised as `topup serve` does."""
    from topup import serve  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    CONFIG.data_dir.mkdir(parents=True, exist_ok=True)
    webhook_url = f"{CONFIG.public_url}/api/v1/payments/webhooks/stripe"
    children = serve._simulators(CONFIG, CONFIG.data_dir, webhook_url)
    for child in children:  # on the sims host's own address, not loopback as in `topup serve`
        child.argv += ["--host", CONFIG.host]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.start()
    pid_file = CONFIG.data_dir / serve.PID_FILE
    serve.write_pid_file(pid_file, children)
    serve._supervise(children, lambda: stopping, pid_file)
    serve._shutdown(children)


if __name__ == "__main__":
    {"prepare": prepare, "sims": run_simulators}[sys.argv[1]]()
