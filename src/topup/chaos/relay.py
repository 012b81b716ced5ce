"""The webhook relay: the payment simulator posts its signed events here, the relay forwards them to the
platform, keeps each one per order, sends some twice at once and replays others later, out of order.

It also forges events (bad signature, or well signed with a wrong amount) for orders that were never paid.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from topup.adapters.payments.signature import sign

FORGE_RETRY_FOR_S = 30.0  # a forged event is sent again this long while the platform is down

Json = dict[str, object]


class Relay:
    def __init__(self, port: int, target: str, secret: str) -> None:
        self.target = target
        self.secret = secret
        self.duplicate: set[str] = set()  # order ids whose events are delivered twice
        self.events: dict[str, list[bytes]] = defaultdict(list)  # order id -> event bodies, as received
        self.sent = 0
        self.replayed = 0
        self.forged: dict[str, int] = defaultdict(int)  # kind -> how many sent
        self.forged_answers: dict[str, int] = {}  # order id -> HTTP status of the forged event
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=10)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = relay.receive(body, self.headers.get("Stripe-Signature", ""))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def receive(self, body: bytes, signature: str) -> int:
        """Forward one real event; answer as the platform did (502 when it is down: the provider retries)."""
        order_id = _order_id(body)
        status = self.forward(body, signature)
        if status < 300 and order_id:
            with self._lock:
                first = body not in self.events[order_id]
                if first:
                    self.events[order_id].append(body)
                self.sent += 1
            if first and order_id in self.duplicate:
                self.forward(body, signature)  # the same delivery again, at once
                with self._lock:
                    self.replayed += 1
        return status

    def forward(self, body: bytes, signature: str) -> int:
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
        try:
            return self._client.post(self.target, content=body, headers=headers).status_code
        except httpx.HTTPError:
            return 502

    def replay_reversed(self, order_id: str) -> int:
        """Every event kept for the order again, newest first, signed afresh as a provider's retry is."""
        with self._lock:
            bodies = list(reversed(self.events.get(order_id, [])))
        for body in bodies:
            self.forward(body, sign(body, self.secret, int(time.time())))
        with self._lock:
            self.replayed += len(bodies)
        return len(bodies)

    def forge(self, order_id: str, intent: Json, kind: str) -> int:
        """A `payment_intent.succeeded` for an intent nobody paid: with a bad signature, or signed with our
        own secret (a leaked secret, a confused provider) for 1 USD instead of the order's amount."""
        forged = {**intent, "status": "succeeded"}
        if kind == "forge_amount":
            forged.update(amount=100, amount_received=100, currency="usd")
        else:
            forged["amount_received"] = forged.get("amount")
        event = {
            "id": f"evt_chaos_{kind}_{order_id}", "object": "event", "type": "payment_intent.succeeded",
            "created": int(time.time()), "livemode": False, "data": {"object": forged},
        }  # fmt: skip
        body = json.dumps(event, separators=(",", ":")).encode()
        secret = self.secret if kind == "forge_amount" else "whsec_not_the_right_one"
        # Sent until the platform answers, as a provider retries: the web may be down (killed) right now.
        deadline = time.monotonic() + FORGE_RETRY_FOR_S
        while True:
            status = self.forward(body, sign(body, secret, int(time.time())))
            if status < 500 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        with self._lock:
            self.forged[kind] += 1
            self.forged_answers[order_id] = status
        return status


def _order_id(body: bytes) -> str | None:
    try:
        event = json.loads(body)
        order_id = event["data"]["object"]["metadata"]["order_id"]
    except (ValueError, KeyError, TypeError):
        return None
    return order_id if isinstance(order_id, str) else None
