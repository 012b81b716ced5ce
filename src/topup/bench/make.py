"""`make bench`: the whole benchmark from a clean state on PostgreSQL.

Drops and creates the database (BENCH_DATABASE_URL, default topup_bench on the local server), starts
`topup serve` on it (demo, data folder artifacts/bench-data, log artifacts/bench-serve.log), waits until it
answers, runs `topup bench --json` (3,000 orders, 32 tasks; BENCH_ARGS adds or overrides flags), writes
the report to artifacts/bench.json, prints it for people and stops the server.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ARTIFACTS = Path("artifacts")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/topup_bench"
DEFAULT_ARGS = ["--orders", "3000", "--concurrency", "32"]
ADMIN_KEY = re.compile(r"demo admin key\s+(tpk_\S+)")
READY_TIMEOUT_S = 180.0


def fresh_database(url: str) -> None:
    import psycopg  # noqa: PLC0415

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _server_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TOPUP_ENV": "demo",
            "TOPUP_HOST": "127.0.0.1",
            "TOPUP_PORT": os.environ.get("TOPUP_PORT", "8000"),
            "TOPUP_DATA_DIR": str(data_dir.resolve()),
            "TOPUP_DATABASE_URL": database_url,
        }
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path, pid_file: Path) -> str:
    """The demo admin key, once the web answers /healthz and the pid file is written."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"topup serve exited with {server.returncode}; see {log}")
        key = ADMIN_KEY.search(log.read_text(errors="replace"))
        try:
            healthy = httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            healthy = False
        if healthy and key and pid_file.exists():
            return key.group(1)
        time.sleep(0.3)
    raise SystemExit(f"topup serve not ready within {READY_TIMEOUT_S:.0f} s; see {log}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # serve stops its children and waits for them
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> None:
    from topup.bench import human_report  # noqa: PLC0415
    from topup.serve import PID_FILE  # noqa: PLC0415

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    data_dir, log = ARTIFACTS / "bench-data", ARTIFACTS / "bench-serve.log"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    fresh_database(database_url)
    env = _server_env(database_url, data_dir)
    url = f"http://127.0.0.1:{env['TOPUP_PORT']}"
    command = [sys.executable, "-m", "topup.cli"]
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603
            [*command, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        key = _wait_ready(url, server, log, data_dir / PID_FILE)
        flags = [*DEFAULT_ARGS, *shlex.split(os.environ.get("BENCH_ARGS", "")), "--json"]
        extra = ["--admin-key", key, "--url", url, "--database-url", database_url]
        sys.stderr.write(f"make bench: topup bench {' '.join(flags)} against {url}\n")
        done = subprocess.run(  # noqa: S603
            [*command, "bench", *extra, *flags], check=False, env=env, stdout=subprocess.PIPE
        )
    finally:
        _stop(server)
    (ARTIFACTS / "bench.json").write_bytes(done.stdout)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise SystemExit(f"topup bench printed no report (exit {done.returncode})") from None
    print(human_report(report))
    print(f"(report in {ARTIFACTS / 'bench.json'}, server log in {log})")
    raise SystemExit(done.returncode)


if __name__ == "__main__":
    main()
