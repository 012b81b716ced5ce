"""`topup cluster up` and `down` empty TOPUP_CLUSTER_DIR only when `up` made it (its marker file is there):
pointed at a folder of someone else's, they refuse and delete nothing. The network is stood in for."""

from __future__ import annotations

from pathlib import Path

import pytest

from topup.cluster import control, net, procs


class _Stop(Exception):
    """Raised where `up` would start building the network: far enough."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(net, "namespaces", list)
    monkeypatch.setattr(net, "bridge_exists", lambda: False)
    monkeypatch.setattr(net, "delete_bridge", lambda: None)
    monkeypatch.setattr(net, "create_bridge", _raise_stop)
    monkeypatch.setattr(procs, "stop_namespaces", lambda: 0)
    monkeypatch.setattr(control, "missing_tools", list)


def _raise_stop() -> None:
    raise _Stop


def _someone_elses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    (folder / "thesis").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    monkeypatch.setenv("TOPUP_CLUSTER_DIR", str(folder))
    return folder


@pytest.mark.usefixtures("no_network")
def test_a_folder_without_the_marker_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _someone_elses(tmp_path, monkeypatch)
    with pytest.raises(control.ClusterError, match=r"refusing to delete anything"):
        control.up()
    with pytest.raises(control.ClusterError, match=r"TOPUP_CLUSTER_DIR"):
        control.down()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "thesis"]


@pytest.mark.usefixtures("no_network")
def test_up_marks_a_new_folder_and_both_empty_it_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "cluster"
    monkeypatch.setenv("TOPUP_CLUSTER_DIR", str(folder))
    with pytest.raises(_Stop):
        control.up()
    assert (folder / control.MARKER).exists()
    (folder / "pg1").mkdir()
    (folder / "logs").mkdir()
    (folder / "failover.json").write_text("{}")
    control.down()
    assert sorted(p.name for p in folder.iterdir()) == [control.MARKER, "failover.json", "logs"]
    with pytest.raises(_Stop):
        control.up()
    assert sorted(p.name for p in folder.iterdir()) == [control.MARKER, "failover.json"]
