"""What keeps `topup serve` quick to start: each child loads only what it runs, gunicorn can load the app
before forking its workers, and the banner waits until the children answer."""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from topup.adapters.messaging.smtp import build_message
from topup.cli import build_parser
from topup.serve import Child, answers, banner, children_for, wait_ready
from topup.settings import load_config
from topup.simulators.mail.reading import listing, showing
from topup.simulators.mail.sink import MaildirHandler


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


def test_the_demo_mails_into_its_own_sink_unless_a_relay_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOPUP_SMTP_HOST", "TOPUP_SMTP_PORT", "TOPUP_MAIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOPUP_ENV", "demo")
    monkeypatch.setenv("TOPUP_PORT", "8000")
    monkeypatch.setenv("TOPUP_DATA_DIR", "/srv/topup-data")
    demo = load_config()
    assert (demo.mail_sink, demo.smtp_host, demo.smtp_port, demo.mail_port) == (True, "127.0.0.1", 8009, 8009)
    (sink,) = [child for child in children_for(demo) if child.name == "mail sink"]
    assert sink.argv == ["simulate", "mail", "--port", "8009", "--maildir", "/srv/topup-data/mail"]
    assert (sink.ready, sink.needs_database) == ("tcp://127.0.0.1:8009", False)
    assert "kept in /srv/topup-data/mail/new/" in banner(demo, None)

    monkeypatch.setenv("TOPUP_SMTP_HOST", "mail.example.net")  # the operator's relay wins
    relayed = load_config()
    assert (relayed.mail_sink, relayed.smtp_host, relayed.smtp_port) == (False, "mail.example.net", 25)
    assert "mail sink" not in [child.name for child in children_for(relayed)]
    assert "sent to smtp://mail.example.net:25" in banner(relayed, None)

    monkeypatch.delenv("TOPUP_SMTP_HOST")
    monkeypatch.setenv("TOPUP_ENV", "test")  # anything but the demo sends nothing unless told
    assert (load_config().mail_sink, load_config().smtp_host) == (False, "")


def test_the_mail_command_lists_and_shows_what_the_sink_kept(tmp_path: Path) -> None:
    assert "no e-mail" in listing(tmp_path / "mail")
    handler = MaildirHandler(tmp_path / "mail")
    for number in (1, 2):
        message = build_message(
            "Topup <r@topup.test>", "li@example.com", f"receipt {number}", f"body {number}", html=None,
            attachments=(),
        )  # fmt: skip
        envelope = SimpleNamespace(original_content=message.as_bytes(), content=message.as_bytes())
        assert asyncio.run(handler.handle_DATA(None, None, envelope)).startswith("250")
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 2  # a Maildir any mail program opens
    listed = listing(tmp_path / "mail")
    assert listed.index("receipt 1") < listed.index("receipt 2")
    assert "Subject: receipt 2" in showing(tmp_path / "mail", None)
    assert "body 1" in showing(tmp_path / "mail", 1)
    assert "no message 3" in showing(tmp_path / "mail", 3)
