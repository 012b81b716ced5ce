"""tools/python.sh, the Python `make` uses: pyproject's range, the fallback, the refusals (fake pythons)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PICKER = ROOT / "tools" / "python.sh"


def fake_python(folder: Path, name: str, version: str) -> Path:
    """An executable answering the picker's version question as that Python would (version "": it fails)."""
    path = folder / name
    path.write_text(f"#!/bin/sh\necho {version}\n" if version else "#!/bin/sh\nexit 127\n")
    path.chmod(0o755)
    return path


def pick(asked: str, folder: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{folder}:/usr/bin:/bin", "PYENV_ROOT": str(folder / "no-pyenv"), "HOME": str(folder)}
    return subprocess.run(
        ["sh", str(PICKER), asked], capture_output=True, text=True, env=env, cwd=cwd, timeout=30, check=False
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    fake_python(tmp_path / "bin", "python3.11", "")  # shadows any real python3.11 of /usr/bin
    return tmp_path / "bin"


def test_the_supported_versions_are_pyprojects() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    bounds = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", requires)
    script = PICKER.read_text()
    listed = re.search(r'^SUPPORTED="([^"]+)"', script, re.MULTILINE)
    assert bounds
    assert listed
    low, high = bounds.groups()
    supported = listed.group(1).split()
    assert sorted(supported) == [f"3.{minor}" for minor in range(int(low), int(high))]
    assert f'RANGE="Python 3.{low} to 3.{int(high) - 1}"' in script


@pytest.mark.parametrize("version", ["3.10", "3.14"])
def test_another_version_is_refused_naming_the_range(folder: Path, version: str) -> None:
    python = fake_python(folder, f"python{version}", version)
    run = pick(str(python), folder, folder)
    assert run.returncode == 1
    assert f"is Python {version}: Topup supports Python 3.11 to 3.13" in run.stderr
    assert run.stdout == ""


def test_a_python_that_is_not_there_is_named(folder: Path) -> None:
    run = pick("python3.14", folder, folder)
    assert run.returncode == 1
    assert "PYTHON=python3.14: no such Python here. Topup supports Python 3.11 to 3.13" in run.stderr


def test_without_python311_the_newest_supported_one_is_used_and_said(folder: Path) -> None:
    fake_python(folder, "python3.12", "3.12")
    fake_python(folder, "python3.13", "3.13")
    run = pick("", folder, folder)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(folder / "python3.13"), "3.13", ".venv"]
    assert "python3.11 not found: using" in run.stderr


def test_nothing_supported_is_refused(folder: Path) -> None:
    fake_python(folder, "python3.10", "3.10")
    run = pick("", folder, folder)
    assert run.returncode == 1
    assert "No python3.11, python3.12 or python3.13 found" in run.stderr


def test_another_version_asked_for_gets_its_own_venv(folder: Path) -> None:
    fake_python(folder, "python3.13", "3.13")
    run = pick("python3.13", folder, folder)
    assert run.stdout.split() == [str(folder / "python3.13"), "3.13", ".venv-3.13"]


def test_a_venv_of_another_python_is_refused(folder: Path, tmp_path: Path) -> None:
    fake_python(folder, "python3.11", "3.11")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    fake_python(tmp_path / ".venv" / "bin", "python", "3.12")
    run = pick("", folder, tmp_path)
    assert run.returncode == 1
    assert ".venv was made with Python 3.12, this run asks for 3.11" in run.stderr
