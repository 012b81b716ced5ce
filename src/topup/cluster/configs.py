"""The configuration files of deploy/cluster/, filled in for this machine's namespaces, and the passwords."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from string import Template

from topup.cluster.layout import (
    ADDRESSES,
    DATABASE_HOSTS,
    LB,
    NETWORK,
    PATRONI_PORT,
    TEMPLATES,
    WEB_PORT,
    cluster_dir,
)

SECRET_NAMES = (
    "superuser_password",
    "replication_password",
    "topup_password",
    "restapi_password",  # Patroni's REST API, its unsafe methods
    "haproxy_stats_password",
)


def passwords() -> dict[str, str]:
    """The cluster's passwords, drawn once per `cluster up` and kept owner-only in secrets.json."""
    path = cluster_dir() / "secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    drawn = {name: secrets.token_hex(16) for name in SECRET_NAMES}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(drawn, out)
    return drawn


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """`text` into `path`, created with `mode` (a file already there is given it before anything is written):
    no moment where another user could read the passwords a file holds."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as out:
        os.fchmod(descriptor, mode)
        out.write(text)


def render(
    template: str, target: Path, owner_postgres: bool = False, mode: int = 0o600, **values: str
) -> Path:
    text = Template((TEMPLATES / template).read_text()).substitute(values)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_private(target, text, mode)
    if owner_postgres:
        shutil.chown(target, "postgres", "postgres")
    return target


def host_dir(host: str, *, owner_postgres: bool = False) -> Path:
    folder = cluster_dir() / host
    folder.mkdir(parents=True, exist_ok=True)
    if owner_postgres:
        shutil.chown(folder, "postgres", "postgres")
        folder.chmod(0o700)
    return folder


def database_host(host: str) -> dict[str, Path]:
    """etcd.yml and patroni.yml (and the post_bootstrap script) of one database host."""
    pw, address = passwords(), ADDRESSES[host]
    folder = host_dir(host, owner_postgres=True)
    run = folder / "run"
    run.mkdir(exist_ok=True)
    shutil.chown(run, "postgres", "postgres")
    members = ",".join(f"{h}=http://{ADDRESSES[h]}:2380" for h in DATABASE_HOSTS)
    etcd = render(
        "etcd.yml", folder / "etcd.yml", name=host, address=address,
        data_dir=str(folder / "etcd"), initial_cluster=members,
    )  # fmt: skip
    script = render(
        "post-bootstrap.sh", folder / "post-bootstrap.sh", owner_postgres=True, mode=0o700,
        topup_password=pw["topup_password"],
    )  # fmt: skip
    patroni = render(
        "patroni.yml", folder / "patroni.yml", owner_postgres=True,
        name=host, address=address, network=NETWORK,
        etcd_hosts=",".join(f"{ADDRESSES[h]}:2379" for h in DATABASE_HOSTS),
        post_bootstrap=str(script), data_dir=str(folder / "pgdata"), pgpass=str(folder / "pgpass"),
        socket_dir=str(run), superuser_password=pw["superuser_password"],
        replication_password=pw["replication_password"], restapi_password=pw["restapi_password"],
    )  # fmt: skip
    return {"etcd": etcd, "patroni": patroni}


def load_balancer(web_nodes: list[str]) -> dict[str, Path]:
    """haproxy.cfg, pgbouncer.ini and its userlist (readable by postgres, which PgBouncer runs as)."""
    pw = passwords()
    folder = host_dir("lb", owner_postgres=True)

    def servers(check_port: int, names: list[str], port: int) -> str:
        return "\n".join(f"    server {n} {ADDRESSES[n]}:{port} check port {check_port}" for n in names)

    haproxy = render(
        "haproxy.cfg", folder / "haproxy.cfg", address=LB, stats_password=pw["haproxy_stats_password"],
        primary_servers=servers(PATRONI_PORT, list(DATABASE_HOSTS), 5432),
        replica_servers=servers(PATRONI_PORT, list(DATABASE_HOSTS), 5432),
        web_servers="\n".join(f"    server {n} {ADDRESSES[n]}:{WEB_PORT} check" for n in web_nodes),
    )  # fmt: skip
    userlist = render(
        "userlist.txt", folder / "userlist.txt", owner_postgres=True, topup_password=pw["topup_password"]
    )
    pgbouncer = render(
        "pgbouncer.ini", folder / "pgbouncer.ini", owner_postgres=True,
        address=LB, socket_dir=str(folder), userlist=str(userlist),
    )  # fmt: skip
    return {"haproxy": haproxy, "pgbouncer": pgbouncer}
