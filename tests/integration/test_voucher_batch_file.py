"""Where a PIN batch may be written: `topup vouchers generate --out batch.csv` run in the checkout (a git
work tree) is refused with exit 2 before any PIN is drawn and no file appears; outside a work tree, or with
--force, the file is written (mode 0600, never overwritten: test_vouchers.py); and git ignores batch files
left in the checkout anyway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT
from topup.vouchers_cli import refuse_inside_work_tree, work_tree_of


def _generate(cwd: Path, out: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOPUP_")}
    env.update({"PYTHONPATH": str(ROOT / "src"), "TOPUP_DATA_DIR": str(cwd / "no-database-here")})
    command = ["vouchers", "generate", "--network", "base", "--plan", "base-credit-10", "--count", "3"]
    return subprocess.run(
        [sys.executable, "-m", "topup.cli", *command, "--out", out, *extra], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_batch_into_the_checkout_is_refused_before_any_pin_is_drawn() -> None:
    assert work_tree_of(ROOT / "batch.csv") == ROOT
    name = "batch-refused-by-test.csv"
    result = _generate(ROOT, name)
    assert result.returncode == 2, result.stderr
    assert "inside the git work tree" in result.stderr
    assert "--force" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (ROOT / name).exists()


def test_a_work_tree_is_found_above_the_file_and_force_lets_it_through(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)  # what git itself looks for
    (tmp_path / "repo" / "sub").mkdir()
    inside = tmp_path / "repo" / "sub" / "batch.csv"
    assert work_tree_of(inside) == tmp_path / "repo"
    assert work_tree_of(tmp_path / "elsewhere" / "batch.csv") is None
    with pytest.raises(SystemExit) as refused:
        refuse_inside_work_tree(inside, force=False)
    assert refused.value.code == 2
    refuse_inside_work_tree(inside, force=True)
    refuse_inside_work_tree(tmp_path / "batch.csv", force=False)


def test_outside_a_work_tree_the_command_goes_on_to_the_database(tmp_path: Path) -> None:
    result = _generate(tmp_path, "batch.csv")  # no database there: it got past the work-tree check
    assert result.returncode == 2
    assert "inside the git work tree" not in result.stderr
    assert "no folder" in result.stderr
    assert "TOPUP_DATABASE_URL" in result.stderr


@pytest.mark.parametrize("name", ["batch.csv", "batch-proximus-10.csv", "shop-pins.csv", "vouchers-2026.csv"])
def test_git_ignores_pin_batches_left_in_the_checkout(name: str) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT, timeout=30, check=False
    )  # fmt: skip
    assert result.returncode == 0, f"git does not ignore {name}"
