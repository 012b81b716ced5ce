"""deploy/cluster/install-deps.sh stops and disables only the services of the packages it installed: one
already installed may be in production on a real host. Run with stand-ins for dpkg-query, apt-get and the
service tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "cluster" / "install-deps.sh"
LOGGED = 'echo "$(basename "$0") $*" >> "$CALLS"\n'


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{LOGGED}{body}")
    path.chmod(0o755)


def _run(tmp_path: Path, installed: set[str]) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    known = " ".join(sorted(installed))
    _tool(
        bin_dir,
        "dpkg-query",
        f"pkg=$(eval echo \\${{$#}})\n"
        f'case " {known} " in *" $pkg "*) printf "install ok installed" ;; esac\n',
    )
    for name in ("apt-get", "service", "update-rc.d", "systemctl"):
        _tool(bin_dir, name, "")
    calls = tmp_path / "calls"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "POLICY_RC_D": str(tmp_path / "policy-rc.d"),
    }
    subprocess.run(["sh", str(SCRIPT)], env=env, check=True, capture_output=True, timeout=30)
    assert not (tmp_path / "policy-rc.d").exists()  # removed again, there was none before
    return [line for line in calls.read_text().splitlines() if line.startswith("systemctl")]


def test_only_the_services_of_packages_it_installed_are_disabled(tmp_path: Path) -> None:
    disabled = _run(tmp_path, installed={"patroni", "etcd-client", "pgbouncer"})
    assert sorted(disabled) == ["systemctl disable etcd", "systemctl disable haproxy"]


def test_nothing_is_stopped_when_everything_was_installed(tmp_path: Path) -> None:
    assert _run(tmp_path, installed={"patroni", "etcd-server", "etcd-client", "pgbouncer", "haproxy"}) == []
