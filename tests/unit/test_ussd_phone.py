"""`topup simulate ussd` waits as long as a USSD gateway would (15 s), and says so when nothing came back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from topup.simulators import ussd_phone


class _SlowPlatform(BaseHTTPRequestHandler):
    delay_s = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay_s)
        body = b"END Your balance is EUR 5.00"
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting: what one test looks for

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def platform() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Slow", (_SlowPlatform,), {"delay_s": 0.6}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _run(url: str, *extra: str) -> None:
    parser = ussd_phone.argparse.ArgumentParser()
    ussd_phone.add_arguments(parser)
    ussd_phone.run(parser.parse_args(["--from", "+32470123456", "--url", url, "--key", "k" * 32, *extra]))


def test_the_default_wait_is_a_gateways() -> None:
    parser = ussd_phone.argparse.ArgumentParser()
    ussd_phone.add_arguments(parser)
    assert parser.parse_args(["--from", "+32470123456"]).timeout == 15.0


def test_a_slow_answer_is_printed(platform: str, capsys: pytest.CaptureFixture[str]) -> None:
    _run(platform, "--timeout", "5")
    assert capsys.readouterr().out == "END Your balance is EUR 5.00\n"


def test_no_answer_in_time_is_named_as_such(platform: str) -> None:
    with pytest.raises(SystemExit) as ended:
        _run(platform, "--timeout", "0.2")
    assert str(ended.value) == "ussd: no answer from the platform within 0.2 s (--timeout)"
