"""`make test`: the whole suite on SQLite, then again on PostgreSQL wherever a server answers.

TOPUP_TEST_DATABASE_URL names the PostgreSQL server (default: the local one). Where none answers,
this says so loudly and runs SQLite only; under CI=true a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make `tests.support` importable
PG_URL = os.environ.get("TOPUP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/topup")


def postgres_reachable(url: str) -> bool:
    import psycopg  # noqa: PLC0415

    from tests.support.postgres import maintenance_connection  # noqa: PLC0415

    try:
        with maintenance_connection(url, timeout_s=3):
            return True
    except psycopg.Error:
        return False


def pytest(label: str, database_url: str, data_dir: Path) -> int:
    print(f"\n===== test suite on {label} =====", flush=True)
    env = {
        **os.environ,
        "TOPUP_DATABASE_URL": database_url,
        "TOPUP_DATA_DIR": str(data_dir),
        "TOPUP_ENV": "test",
    }
    args = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    return subprocess.call(args, cwd=ROOT, env=env)


def main() -> int:
    data_dir = ROOT / "artifacts" / "test-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    code = pytest("SQLite", f"sqlite:///{data_dir / 'topup.sqlite3'}", data_dir)
    if postgres_reachable(PG_URL):
        code = pytest(f"PostgreSQL ({urlparse(PG_URL).hostname})", PG_URL, data_dir) or code
    elif os.environ.get("CI") == "true":
        print(f"\n!!!!! PostgreSQL at {PG_URL} is not reachable and CI=true: failing. !!!!!", flush=True)
        return 1
    else:
        print(
            "\n"
            + "!" * 78
            + f"\n!! PostgreSQL at {PG_URL} is NOT reachable: the PostgreSQL half was SKIPPED.\n"
            "!! Start it or set TOPUP_TEST_DATABASE_URL; CI runs both halves.\n" + "!" * 78,
            flush=True,
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
