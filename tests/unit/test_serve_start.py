"""What keeps `topup serve` quick to start: each child loads only what it runs, gunicorn can load the app
before forking its workers, and the banner waits until the children answer."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from topup.cli import build_parser
from topup.serve import Child, answers, wait_ready


def _modules_after(code: str, **env: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_a_simulator_child_loads_its_own_module_only() -> None:
    loaded = _modules_after("from topup.cli import build_parser; build_parser(['simulate', 'payments'])")
    assert "topup.simulators.payments" in loaded
    assert "topup.simulators.carriers" not in loaded
    web = _modules_after("from topup.cli import build_parser; build_parser(['web'])")
    assert not any(m.startswith("topup.simulators") for m in web)


def test_the_full_command_line_is_still_there() -> None:
    commands = build_parser([]).parse_args(["simulate", "carriers"])
    assert commands.simulator == "carriers"
    assert build_parser(["vouchers"]).parse_args(["vouchers", "expire"]).command == "vouchers"
    with pytest.raises(SystemExit):
        build_parser(["simulate", "nosuch"]).parse_args(["simulate", "nosuch"])


def test_loading_the_web_app_opens_no_connection_and_no_thread() -> None:
    """gunicorn --preload loads it once and forks: a connection or a thread would be shared or lost."""
    code = (
        "import threading, topup.wsgi\n"
        "from django.db import connections\n"
        "assert [c.alias for c in connections.all() if c.connection is not None] == []\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
    )
    _modules_after(code, TOPUP_PROCESS="web")


def test_the_banner_waits_for_the_children_that_answer() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        up = f"tcp://127.0.0.1:{listening.getsockname()[1]}"
        assert answers(up)
        down = Child("silent", [], ready="tcp://127.0.0.1:1")
        dead = Child("dead", [], ready=up.replace(str(listening.getsockname()[1]), "1"))
        dead.process = subprocess.Popen([sys.executable, "-c", "pass"])  # exits at once
        dead.process.wait()
        down.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            late = wait_ready([Child("up", [], ready=up), down, dead], deadline_s=0.5, stopping=lambda: False)
        finally:
            down.process.kill()
            down.process.wait()
    assert late == ["silent", "dead"]
    assert not answers("tcp://127.0.0.1:1")


def test_any_http_answer_counts_as_up() -> None:
    """Production refuses our probe's Host header (400): its web is up all the same."""

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(400)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert answers(f"http://127.0.0.1:{server.server_port}/healthz")
    finally:
        server.shutdown()
        server.server_close()
    assert not answers(f"http://127.0.0.1:{server.server_port}/healthz")
