"""`topup cluster up|down|status`: start the cluster in order, waiting for each layer before the next."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from topup.cluster import configs, net, nodes, procs
from topup.cluster.layout import (
    ADDRESSES,
    DATABASE_HOSTS,
    DEFAULT_CLUSTER_DIR,
    LB,
    PGBOUNCER_PORT,
    PRIMARY_PORT,
    Urls,
    cluster_dir,
    hosts,
)

TOOLS = ("etcd", "patroni", "pgbouncer", "haproxy", "setpriv")
STATE = "state.json"  # what `up` made: pairs, database URL, demo admin key (owner-only)
MARKER = ".topup-cluster"  # written by `up`: only a folder holding it has its contents deleted


class ClusterError(Exception):
    """The cluster could not be brought up (the message says which layer and where its log is)."""


def _say(text: str) -> None:
    print(f"cluster: {text}", flush=True)


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def wait_until(what: str, ready: Callable[[], bool], timeout_s: float, log: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    where = f" (see {cluster_dir() / 'logs' / log}.log)" if log else ""
    raise ClusterError(f"{what} not ready within {timeout_s:.0f} s{where}")


def get_json(url: str) -> object:
    try:
        response = httpx.get(url, timeout=1.0)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def members() -> list[dict[str, object]]:
    """Patroni's view of the cluster, from the first database host that answers."""
    for host in DATABASE_HOSTS:
        cluster = get_json(f"{Urls.patroni(host)}/cluster")
        if isinstance(cluster, dict) and isinstance(cluster.get("members"), list):
            return [m for m in cluster["members"] if isinstance(m, dict)]
    return []


def leader_and_sync() -> bool:
    running = [m for m in members() if m.get("state") in {"running", "streaming"}]
    roles = {str(m.get("role")) for m in running}
    return "leader" in roles and "sync_standby" in roles


def state() -> dict[str, object]:
    try:
        loaded: dict[str, object] = json.loads((cluster_dir() / STATE).read_text())
    except (OSError, ValueError):
        return {}
    return loaded


def up(pairs: int = 2, via: str = "pgbouncer") -> dict[str, object]:
    if net.namespaces() or net.bridge_exists():
        raise ClusterError("a cluster is already here: `topup cluster down` first")
    if missing := missing_tools():
        raise ClusterError(f"missing {', '.join(missing)}: run `make cluster-deps`")
    root = cluster_dir()
    root.mkdir(parents=True, exist_ok=True)
    _refuse_unless_ours(root)
    for child in root.iterdir():  # a fresh start; the reports of earlier runs stay
        if not _is_report(child) and child.name != MARKER:
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    (root / MARKER).write_text(
        "made by `topup cluster up`: `topup cluster up` and `down` empty this folder\n"
    )
    root.chmod(0o755)  # the postgres user walks through it to its own folders
    net.create_bridge()
    for host in hosts(pairs):
        net.add_host(host, ADDRESSES[host])
    _say(f"{len(hosts(pairs))} hosts on {ADDRESSES['lb'].rsplit('.', 1)[0]}.0/24")
    _databases()
    _load_balancer(pairs)
    password = configs.passwords()["topup_password"]
    database = nodes.database_env(password, via=via)
    db_url = database["TOPUP_DATABASE_URL"]
    admin_key = _prepare(database)
    _topup_nodes(pairs, database)
    made = {"pairs": pairs, "via": via, "database_url": db_url, "admin_key": admin_key,
            "direct_url": nodes.database_url(password, via="haproxy"), "web_url": Urls.web}  # fmt: skip
    path = root / STATE
    configs.write_private(path, json.dumps(made, indent=1))
    stats = f"http://{LB}:7000/, user stats"
    _say(f"up: web {Urls.web}/  database {db_url.replace(password, '***')}  (stats {stats})")
    return made


def _databases() -> None:
    rendered = {host: configs.database_host(host) for host in DATABASE_HOSTS}
    for host in DATABASE_HOSTS:
        procs.start(f"etcd-{host}", host, ["etcd", "--config-file", str(rendered[host]["etcd"])])
    for host in DATABASE_HOSTS:
        url = f"http://{ADDRESSES[host]}:2379/health"
        wait_until(f"etcd on {host}", partial(_etcd_healthy, url), 60, f"etcd-{host}")
    _say("etcd: 3 members healthy")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/var/lib/postgresql", "LANG": "C.UTF-8"}
    for host in DATABASE_HOSTS:
        procs.start(
            f"patroni-{host}", host, ["patroni", str(rendered[host]["patroni"])], env=env, as_postgres=True
        )
        if host == DATABASE_HOSTS[0]:  # the first bootstraps; the others then clone it
            wait_until("a Patroni leader", lambda: any(m.get("role") == "leader" for m in members()), 90,
                       "patroni-db1")  # fmt: skip
    wait_until("a leader and a synchronous standby", leader_and_sync, 180, "patroni-db2")
    _say("patroni: " + ", ".join(f"{m.get('name')} {m.get('role')}" for m in members()))


def _etcd_healthy(url: str) -> bool:
    answer = get_json(url)
    return isinstance(answer, dict) and str(answer.get("health")) == "true"


def answers_http(url: str) -> bool:
    return get_json(url) is not None


def _load_balancer(pairs: int) -> None:
    rendered = configs.load_balancer([f"web{i}" for i in range(1, pairs + 1)])
    procs.start("haproxy", "lb", ["haproxy", "-db", "-f", str(rendered["haproxy"])])
    procs.start("pgbouncer", "lb", ["pgbouncer", str(rendered["pgbouncer"])], as_postgres=True)
    wait_until("HAProxy's primary port", lambda: accepts(LB, PRIMARY_PORT), 30, "haproxy")
    wait_until("PgBouncer", lambda: accepts(LB, PGBOUNCER_PORT), 30, "pgbouncer")
    _say(f"lb: HAProxy :{PRIMARY_PORT}/:5001/:8080, PgBouncer :{PGBOUNCER_PORT}")


def _prepare(database: dict[str, str]) -> str:
    """Migrate and seed once, from the root namespace, through the same URL the nodes use; the admin key."""
    folder = cluster_dir() / "prepare"
    env = nodes.node_env("prepare", str(folder), database)
    deadline = time.monotonic() + 30  # HAProxy needs a check or two before it sends anything to the primary
    while True:
        done = subprocess.run(
            [sys.executable, "-m", "topup.cluster.nodes", "prepare"],
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    (cluster_dir() / "logs" / "prepare.log").write_text(done.stdout + done.stderr)
    key = [line.split()[-1] for line in done.stdout.splitlines() if line.startswith("demo admin key")]
    if done.returncode != 0 or not key:
        raise ClusterError(f"migrate and seed failed (see {cluster_dir() / 'logs' / 'prepare.log'})")
    _say("database migrated and the demo seeded")
    return key[0]


def _topup_nodes(pairs: int, database: dict[str, str]) -> None:
    python = [sys.executable, "-m", "topup.cli"]

    def env(host: str) -> dict[str, str]:
        return nodes.node_env(host, str(cluster_dir() / host / "data"), database)

    procs.start("sims", "sims", [sys.executable, "-m", "topup.cluster.nodes", "sims"], env=env("sims"))
    wait_until("the payment simulator", lambda: accepts(ADDRESSES["sims"], 8001), 60, "sims")
    wait_until("the carrier simulator", lambda: accepts(ADDRESSES["sims"], 8002), 60, "sims")
    for i in range(1, pairs + 1):
        procs.start(f"web{i}", f"web{i}", [*python, "web"], env=env(f"web{i}"))
        procs.start(f"worker{i}", f"worker{i}", [*python, "worker"], env=env(f"worker{i}"))
    for i in range(1, pairs + 1):
        url = f"http://{ADDRESSES[f'web{i}']}:8000/healthz"
        wait_until(f"web{i}", partial(answers_http, url), 90, f"web{i}")
    wait_until("the web through HAProxy", lambda: get_json(f"{Urls.web}/healthz") is not None, 30, "haproxy")
    _say(f"{pairs} web node(s), {pairs} worker node(s), simulators on sims")


def down() -> None:
    stopped = procs.stop_namespaces()
    for ns in net.namespaces():
        net.delete_host(ns)
    net.delete_bridge()
    root = cluster_dir()
    if root.exists():
        _refuse_unless_ours(root)
        for child in root.iterdir():  # data and configuration go; logs, reports and the marker stay
            if child.name not in ("logs", MARKER) and not _is_report(child):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    leftovers = net.namespaces()
    _say(f"down: {stopped} processes stopped, namespaces left: {leftovers or 'none'}")
    if leftovers or net.bridge_exists():
        raise ClusterError("some namespaces or the bridge could not be removed")


def _refuse_unless_ours(root: Path) -> None:
    """Nothing is deleted from a folder `up` did not make: TOPUP_CLUSTER_DIR may name any folder. The default
    one, in this checkout's artifacts/, is ours even without the marker (made before there was one)."""
    if (root / MARKER).exists() or root == DEFAULT_CLUSTER_DIR.resolve() or not any(root.iterdir()):
        return
    raise ClusterError(
        f"{root} is not empty and has no {MARKER} (written by `topup cluster up`): refusing to delete "
        "anything in it. Point TOPUP_CLUSTER_DIR at an empty or new folder, or at one `topup cluster up` made"
    )


def _is_report(path: Path) -> bool:
    """failover.json and bench-<pairs>.json: what `topup cluster failover` and `bench` measured."""
    return path.name == "failover.json" or (path.name.startswith("bench-") and path.suffix == ".json")


def status() -> dict[str, object]:
    table = procs.pids()
    running = {name: procs.alive(int(str(entry["pid"]))) for name, entry in table.items()}
    return {
        "namespaces": net.namespaces(),
        "processes": running,
        "patroni": [{k: m.get(k) for k in ("name", "role", "state", "lag")} for m in members()],
        "web": get_json(f"{Urls.web}/healthz") is not None,
    }


def status_text(report: dict[str, object]) -> str:
    return json.dumps(report, indent=1)


def log_path(name: str) -> Path:
    return cluster_dir() / "logs" / f"{name}.log"
