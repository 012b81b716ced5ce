"""The cluster's network: a bridge in the root namespace and a namespace per host joined by a veth pair."""

from __future__ import annotations

import subprocess

from topup.cluster.layout import BRIDGE, GATEWAY, NAMESPACE_PREFIX, namespace


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def namespaces() -> list[str]:
    """The cluster's namespaces that exist now."""
    listed = ip("netns", "list", check=False).stdout.splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    return [name for name in names if name.startswith(NAMESPACE_PREFIX)]


def bridge_exists() -> bool:
    return ip("link", "show", BRIDGE, check=False).returncode == 0


def create_bridge() -> None:
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")


def add_host(host: str, address: str) -> None:
    """Namespace tpc-<host> with eth0 = `address`/24 on the bridge, lo up, default route via the bridge."""
    ns, outside = namespace(host), f"tpv-{host}"
    ip("netns", "add", ns)
    ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("link", "set", outside, "master", BRIDGE)
    ip("link", "set", outside, "up")
    ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", ns, "route", "add", "default", "via", GATEWAY)


def pids_in(ns: str) -> list[int]:
    """Every process living in the namespace."""
    return [int(pid) for pid in ip("netns", "pids", ns, check=False).stdout.split()]


def delete_host(ns: str) -> None:
    ip("netns", "del", ns, check=False)  # its veth end goes with it, and the peer on the bridge too


def delete_bridge() -> None:
    ip("link", "del", BRIDGE, check=False)
