"""What each of `topup doctor`'s peer probes takes for "credentials accepted", and what it names otherwise:
DT One must answer a list of balances, the SM-DP+ must answer CancelOrder of an impossible ICCID (wrong Luhn
digit) with Failed, ICCID unknown; a 404 is a wrong URL; an SMPP bind_transmitter (never a transceiver)
refused with 0x0D is "bind failed", with 0x0E/0x0F "credentials refused"."""

from __future__ import annotations

import dataclasses
import json
import socketserver
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from topup.doctor_peers import PROBE_ICCID, _dtone, _smdp, _smsc
from topup.doctor_report import FAIL, OK
from topup.domain.identifiers import luhn_check_digit
from topup.settings import CONFIG

TIMEOUT_S = 2.0
BIND_TRANSMITTER, BIND_TRANSMITTER_RESP = 0x00000002, 0x80000002


class _Answers(BaseHTTPRequestHandler):
    """Answers every request with `status` and `body` (a peer that is not the one configured)."""

    status = 200
    body: object = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        data = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[type[_Answers]]:
    handler = type("Handler", (_Answers,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_the_probe_iccid_cannot_exist() -> None:
    assert luhn_check_digit(PROBE_ICCID[:-1]) != PROBE_ICCID[-1]


def test_the_simulators_answer_a_known_caller(smdp_simulator: str, dtone_simulator: str) -> None:
    config = dataclasses.replace(CONFIG, smdp_url=smdp_simulator, dtone_url=dtone_simulator)
    assert _smdp(config, TIMEOUT_S).status == OK
    assert _dtone(config, TIMEOUT_S).status == OK
    refused = _smdp(dataclasses.replace(config, smdp_api_key="wrong"), TIMEOUT_S)
    assert (refused.status, refused.detail) == (FAIL, "credentials refused (HTTP 401)")


def test_a_404_is_a_wrong_url(smdp_simulator: str, answering: type[_Answers]) -> None:
    dtone_at_smdp = dataclasses.replace(CONFIG, dtone_url=smdp_simulator)  # no /v1/balances there
    answering.status = 404
    smdp_elsewhere = dataclasses.replace(CONFIG, smdp_url=answering.url)  # type: ignore[attr-defined]
    for finding in (_dtone(dtone_at_smdp, TIMEOUT_S), _smdp(smdp_elsewhere, TIMEOUT_S)):
        assert finding.status == FAIL
        assert finding.detail.endswith("wrong URL"), finding.detail


def test_any_2xx_is_not_enough(answering: type[_Answers]) -> None:
    url = answering.url  # type: ignore[attr-defined]
    config = dataclasses.replace(CONFIG, smdp_url=url, dtone_url=url)
    answering.body = {"ok": True}
    for finding in (_smdp(config, TIMEOUT_S), _dtone(config, TIMEOUT_S)):
        assert finding.status == FAIL
        assert finding.detail.startswith("unexpected answer"), finding.detail
    answering.body = {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}}
    assert "answered Executed-Success" in _smdp(config, TIMEOUT_S).detail
    answering.body = {"header": {"functionExecutionStatus": {
        "status": "Failed", "statusCodeData": {"subjectCode": "8.1", "reasonCode": "1.2"}}}}  # fmt: skip
    assert _smdp(config, TIMEOUT_S).detail == "credentials refused (ES2+ 8.1/1.2)"
    answering.body = [{"id": 1, "unit": "EUR", "available": 10.0}]
    assert _dtone(config, TIMEOUT_S).status == OK


class _Smsc(socketserver.StreamRequestHandler):
    """Answers the first bind with `status`; records its command id."""

    status = 0x0D
    seen: list[int]

    def handle(self) -> None:
        header = self.rfile.read(16)
        length, command, _status, sequence = struct.unpack(">IIII", header)
        self.rfile.read(length - 16)
        self.seen.append(command)
        self.wfile.write(struct.pack(">IIII", 17, command | 0x80000000, self.status, sequence) + b"\0")
        self.rfile.read(1)  # until the client closes


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (0x0D, "bind failed (bind limit reached, or refused), command status 0x0d"),
        (0x0E, "credentials refused (bind refused, command status 0x0e)"),
        (0x0F, "credentials refused (bind refused, command status 0x0f)"),
    ],
)
def test_the_smpp_probe_binds_as_a_transmitter_and_names_the_refusal(status: int, detail: str) -> None:
    seen: list[int] = []
    handler = type("Handler", (_Smsc,), {"status": status, "seen": seen})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = dataclasses.replace(CONFIG, smsc_host="127.0.0.1", smsc_port=server.server_address[1])
        finding = _smsc(config, TIMEOUT_S)
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [BIND_TRANSMITTER]
    assert (finding.status, finding.detail) == (FAIL, detail)
