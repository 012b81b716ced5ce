"""`topup` run from another folder than the checkout: the default data folder is the checkout's, not the
working directory's; a database it cannot use (no SQLite folder, never migrated, PostgreSQL not answering, no
such database) is one line on standard error naming where it looked and the setting, exit 2, no traceback; and
a migrated database works from anywhere (`topup manage createsuperuser`). Each command is a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.e2e.stack import fresh_database_url
from tests.support.processes import ROOT, free_port


def _env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TOPUP_", "DJANGO_"))}
    env.update({"TOPUP_ENV": "demo", "PYTHONPATH": str(ROOT / "src"), **settings})
    return env


def _topup(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topup.cli", *args], cwd=cwd, env=_env(**settings), capture_output=True,
        text=True, timeout=180, check=False,
    )  # fmt: skip


def _one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_the_default_data_folder_is_the_checkouts_wherever_the_command_runs(tmp_path: Path) -> None:
    probe = "from topup.settings import CONFIG; print(CONFIG.data_dir); print(CONFIG.database_url)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    data_dir, url = result.stdout.splitlines()
    assert Path(data_dir) == ROOT / "data"
    assert url == f"sqlite:///{ROOT / 'data' / 'topup.sqlite3'}"


def test_no_sqlite_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "never-made"
    result = _topup(
        tmp_path, "manage", "createsuperuser", "--noinput", "--username", "x", TOPUP_DATA_DIR=str(missing)
    )
    _one_clear_line(result, str(missing), "make run", "TOPUP_DATABASE_URL")
    assert not missing.exists()


def test_an_unmigrated_sqlite_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _topup(tmp_path, "jobs", "list", TOPUP_DATA_DIR=str(tmp_path))
    _one_clear_line(result, str(tmp_path / "topup.sqlite3"), "not migrated", "topup migrate")


def test_postgresql_not_answering_is_one_line_naming_host_port_and_setting(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://postgres@127.0.0.1:{port}/topup_nowhere"
    result = _topup(
        tmp_path, "manage", "createsuperuser", "--noinput", "--username", "x", TOPUP_DATABASE_URL=url
    )
    _one_clear_line(result, f"127.0.0.1:{port}", "TOPUP_DATABASE_URL")


def test_a_missing_postgresql_database_is_named(tmp_path: Path) -> None:
    url = os.environ.get("TOPUP_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs the PostgreSQL server of the suite (TOPUP_DATABASE_URL=postgresql://...)")
    nowhere = urlunparse(urlparse(url)._replace(path="/topup_no_such_database_here"))
    result = _topup(tmp_path, "jobs", "list", TOPUP_DATABASE_URL=nowhere)
    _one_clear_line(result, "topup_no_such_database_here", "TOPUP_DATABASE_URL")


def test_a_migrated_database_works_from_another_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings = {"TOPUP_DATA_DIR": str(data), "TOPUP_DATABASE_URL": fresh_database_url(data, "elsewhere")}
    migrated = _topup(ROOT, "migrate", "--no-seed", **settings)
    assert migrated.returncode == 0, migrated.stderr
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    made = _topup(
        elsewhere, "manage", "createsuperuser", "--noinput", "--username", "boss", "--email", "b@example.org",
        DJANGO_SUPERUSER_PASSWORD="a long enough password for the test", **settings,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "Superuser created successfully" in made.stdout


def test_a_database_error_after_the_start_keeps_its_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings = {"TOPUP_DATA_DIR": str(data), "TOPUP_DATABASE_URL": fresh_database_url(data, "midrun")}
    migrated = _topup(ROOT, "migrate", "--no-seed", **settings)
    assert migrated.returncode == 0, migrated.stderr
    drop = "from django.db import connection; connection.cursor().execute('DROP TABLE job')"
    dropped = _topup(tmp_path, "manage", "shell", "-c", drop, **settings)
    assert dropped.returncode == 0, dropped.stderr
    # Connected and migrated at the start: the missing table is met mid-run, a fault to see in full.
    result = _topup(tmp_path, "jobs", "list", **settings)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" in result.stderr
    assert "not migrated" not in result.stderr
