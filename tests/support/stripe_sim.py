"""A payment simulator (Stripe's API) as a process, and a webhook receiver that records what it is sent.

No database, no Django: the receiver is a threaded `http.server` that records every delivery and can
refuse the first N; the simulator is `python -m topup.simulators.payments` with its flags.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.support.processes import free_port, running

API_KEY = "sk_test_integration"
SECRET = "whsec_integration_current"
OLD_SECRET = "whsec_integration_previous"
WAIT_S = 20.0  # a deadline for asynchronous deliveries, not a timing assertion


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]
    answered: int


class WebhookReceiver:
    """Records deliveries; `fail_first(n, match)` answers 500 to the next n bodies containing `match`."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._failures: dict[str, int] = {}
        self._changed = threading.Condition()

    def fail_first(self, count: int, match: str) -> None:
        with self._changed:
            self._failures[match] = count

    def record(self, body: bytes, headers: dict[str, str]) -> int:
        with self._changed:
            status = 200
            for match, remaining in self._failures.items():
                if remaining > 0 and match.encode() in body:
                    self._failures[match] = remaining - 1
                    status = 500
            self.deliveries.append(Delivery(body, headers, status))
            self._changed.notify_all()
            return status

    def wait_for(self, *matches: str, accepted: int = 1) -> list[Delivery]:
        """Deliveries whose body holds every one of `matches`, once `accepted` of them were answered 2xx."""

        def matching() -> list[Delivery]:
            return [d for d in self.deliveries if all(m.encode() in d.body for m in matches)]

        with self._changed:
            done = self._changed.wait_for(
                lambda: sum(d.answered == 200 for d in matching()) >= accepted, timeout=WAIT_S
            )
            found = matching()
        assert done, f"expected {accepted} accepted deliveries for {matches}, got {found}"
        return found


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the simulator's pooled client expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.record(body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiving() -> Iterator[tuple[WebhookReceiver, str]]:
    state = WebhookReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/api/v1/payments/webhooks/stripe"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def simulator(
    webhook_url: str = "", *flags: str, api_key: str = API_KEY, secret: str = SECRET
) -> Iterator[str]:
    """The simulator on a free port; its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    args = ["-m", "topup.simulators.payments", "--port", str(port), "--api-key", api_key]
    args += ["--webhook-url", webhook_url, "--webhook-secret", secret, "--seed", "7", *flags]
    with running(args, ready_url=f"{base_url}/healthz"):
        yield base_url


def admin(base_url: str, api_key: str = API_KEY) -> httpx.Client:
    """The simulator's `/_sim` surface (faults, summary, events)."""
    return httpx.Client(base_url=f"{base_url}/_sim", headers={"Authorization": f"Bearer {api_key}"})
