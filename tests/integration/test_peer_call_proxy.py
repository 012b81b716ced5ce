"""A peer's client goes through the proxy the environment names (HTTP_PROXY, HTTPS_PROXY), as a plain httpx
client would, although its transport is our observed one."""

from __future__ import annotations

import asyncio
import socketserver
import threading
from collections.abc import Iterator

import httpx
import pytest

from topup.adapters import observed
from topup.adapters.carriers.http import HttpCarrierGateway
from topup.domain.money import Money


class _Proxy(socketserver.StreamRequestHandler):
    """Records each request line; answers a plain request 200 and refuses a CONNECT."""

    seen: list[str]

    def handle(self) -> None:
        line = self.rfile.readline().decode().strip()
        self.seen.append(line)
        while self.rfile.readline() not in {b"\r\n", b""}:
            pass
        if line.startswith("CONNECT"):
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        body = b'{"status": "proxied"}'
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    handler = type("Handler", (_Proxy,), {"seen": seen})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("HTTPS_PROXY", url)
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_carrier_call_goes_through_http_proxy(proxy: list[str]) -> None:
    with HttpCarrierGateway("http://carrier.invalid", "key", 5.0) as gateway:
        gateway.topup("proximus", "32470123456", Money(1000, "EUR"), "ord_1")
    assert proxy[0].startswith("POST http://carrier.invalid/")


def test_an_https_call_asks_the_proxy_to_connect(proxy: list[str]) -> None:
    with httpx.Client(transport=observed.transport("smdp")) as client, pytest.raises(httpx.ProxyError):
        client.get("https://smdp.invalid/gsma/rsp2/es2plus/x")
    assert proxy == ["CONNECT smdp.invalid:443 HTTP/1.1"]


def test_an_async_call_goes_through_the_proxy_too(proxy: list[str]) -> None:
    async def call() -> int:
        async with httpx.AsyncClient(transport=observed.async_transport("carrier")) as client:
            return (await client.get("http://carrier.invalid/v1/ping")).status_code

    assert asyncio.run(call()) == 200
    assert proxy == ["GET http://carrier.invalid/v1/ping HTTP/1.1"]
