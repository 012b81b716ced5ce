"""Who is where in the cluster: the hosts (network namespaces), their addresses, ports and folders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "deploy" / "cluster"
BRIDGE = "tpc0"
GATEWAY = "10.77.0.1"
NETWORK = "10.77.0.0/24"
NAMESPACE_PREFIX = "tpc-"
DATABASE_HOSTS = ("db1", "db2", "db3")
ADDRESSES = {
    "db1": "10.77.0.11",
    "db2": "10.77.0.12",
    "db3": "10.77.0.13",
    "lb": "10.77.0.20",
    "web1": "10.77.0.31",
    "web2": "10.77.0.32",
    "worker1": "10.77.0.41",
    "worker2": "10.77.0.42",
    "sims": "10.77.0.50",
}
LB = ADDRESSES["lb"]
SIMS = ADDRESSES["sims"]
WEB_PORT = 8000  # each web node's gunicorn, in its own namespace
LB_WEB_PORT = 8080
PRIMARY_PORT = 5000  # HAProxy -> current primary
REPLICA_PORT = 5001
PGBOUNCER_PORT = 6432
PATRONI_PORT = 8008
SIMS_BASE_PORT = (
    8000  # the simulators' ports follow Topup's defaults from here (payments +1, carriers +2, ...)
)


DEFAULT_CLUSTER_DIR = REPO / "artifacts" / "cluster"


def cluster_dir() -> Path:
    """Pids, logs, rendered configuration and data of a running cluster (TOPUP_CLUSTER_DIR to move it)."""
    return Path(os.environ.get("TOPUP_CLUSTER_DIR", str(DEFAULT_CLUSTER_DIR))).resolve()


def namespace(host: str) -> str:
    return f"{NAMESPACE_PREFIX}{host}"


def hosts(pairs: int) -> list[str]:
    """The hosts of a cluster with `pairs` web+worker node pairs."""
    nodes = [f"web{i}" for i in range(1, pairs + 1)] + [f"worker{i}" for i in range(1, pairs + 1)]
    return [*DATABASE_HOSTS, "lb", "sims", *nodes]


@dataclass(frozen=True)
class Urls:
    """What a client in the root namespace (or a node) dials."""

    web: str = f"http://{LB}:{LB_WEB_PORT}"
    payments: str = f"http://{SIMS}:{SIMS_BASE_PORT + 1}"
    carriers: str = f"http://{SIMS}:{SIMS_BASE_PORT + 2}"

    @staticmethod
    def patroni(host: str) -> str:
        return f"http://{ADDRESSES[host]}:{PATRONI_PORT}"
