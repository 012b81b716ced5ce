"""The hints a command prints name `topup` the way this shell can run it: `.venv/bin/topup` under `make run`
(the virtual environment not on PATH), plain `topup` once it is activated, an absolute path from elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from topup.command_name import topup_command


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with .venv/bin/python and .venv/bin/topup; the working folder is the checkout."""
    bin_dir = tmp_path / "checkout" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    script = bin_dir / "topup"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.chdir(tmp_path / "checkout")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return bin_dir


def test_make_run_without_the_venv_on_path_names_the_venvs_script(venv: Path) -> None:
    assert topup_command() == ".venv/bin/topup"


def test_an_activated_venv_says_topup(venv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{venv}:/usr/bin:/bin")
    assert topup_command() == "topup"


def test_from_another_folder_the_whole_path(
    venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert topup_command() == str(venv / "topup")


def test_another_topup_on_path_is_not_taken_for_ours(
    venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "topup").write_text("#!/bin/sh\n")
    (other / "topup").chmod(0o755)
    monkeypatch.setenv("PATH", f"{other}:/usr/bin:/bin")
    assert topup_command() == ".venv/bin/topup"
