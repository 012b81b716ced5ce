"""The platform's SMPP link against the SMSC simulator, both real: the simulator runs as a separate process on
loopback and the link binds to it over TCP. No Django, no database."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import smpplib.client
import smpplib.exceptions

from tests.support.processes import ROOT, free_port, running
from topup.adapters.messaging.smpp import SmppLink

PHONE = "+32470123456"
DEADLINE_S = 30.0
DUTCH = (
    "Beste klant, uw herlaadbeurt van 15 euro is goed ontvangen. Uw nieuwe saldo bedraagt 27,50 euro en is "
    "geldig tot en met 31 december. Met de bundel Surf 5 GB surft u één maand in heel Europa, ook in de EU. "
    "Stuur SALDO naar 1919 om uw saldo op te vragen of HULP voor meer informatie. Bedankt en tot ziens!"
)[:300]
CHINESE = (
    "您的余额为二十七欧元五十分。有效期至十二月三十一日。发送余额到一九一九查询。发送帮助获取更多信息。谢谢。"
    * 3
)[:100]


@dataclass
class Smsc:
    smpp_port: int
    http_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def args(self) -> list[str]:
        return ["-m", "topup.simulators.smsc", "--smpp-port", str(self.smpp_port),
                "--http-port", str(self.http_port), "--receipt-delay-ms", "50", "--seed", "7"]  # fmt: skip


def wait_for(check: Callable[[], object], what: str, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.fixture
def smsc(tmp_path: object) -> Iterator[Smsc]:
    peer = Smsc(free_port(), free_port())
    with running(peer.args(), f"{peer.url}/healthz"):
        yield peer


@contextmanager
def linked(
    smsc: Smsc, on_message: Callable[[str, str], None] | None = None, password: str = "topup123"
) -> Iterator[SmppLink]:
    link = SmppLink(
        "127.0.0.1", smsc.smpp_port, "topup", password, on_message=on_message, reconnect_max_s=2.0
    )
    link.start()
    try:
        yield link
    finally:
        link.stop()


def phone_sends(smsc: Smsc, text: str) -> None:
    response = httpx.post(f"{smsc.url}/phones/{PHONE}/send", json={"text": text, "to": "1919"})
    assert response.status_code == 202


def inbox(smsc: Smsc) -> list[str]:
    response = httpx.get(f"{smsc.url}/phones/{PHONE}/inbox", params={"since": 0})
    response.raise_for_status()
    return [message["text"] for message in response.json()["messages"]]


def test_mobile_originated_messages_reach_on_message_decoded(smsc: Smsc) -> None:
    received: list[tuple[str, str]] = []
    with linked(smsc, lambda sender, text: received.append((sender, text))) as link:
        assert link.wait_bound(DEADLINE_S)
        phone_sends(smsc, "SALDO")
        wait_for(lambda: len(received) == 1, "the GSM message")
        phone_sends(smsc, "充值 123456789012345")
        wait_for(lambda: len(received) == 2, "the UCS-2 message")
        long_text = "余额" * 80  # 160 characters: three UCS-2 parts
        phone_sends(smsc, long_text)
        wait_for(lambda: len(received) == 3, "the concatenated message")
    assert received == [(PHONE, "SALDO"), (PHONE, "充值 123456789012345"), (PHONE, long_text)]


def test_long_dutch_and_chinese_texts_arrive_whole_with_receipts(smsc: Smsc) -> None:
    assert len(DUTCH) == 300
    assert len(CHINESE) == 100
    with linked(smsc) as link:
        assert link.wait_bound(DEADLINE_S)
        dutch_ids = link.send(PHONE, DUTCH)
        chinese_ids = link.send(PHONE, CHINESE)
        assert len(dutch_ids) == 2  # 300 GSM septets: two parts of at most 153
        assert len(chinese_ids) == 2  # 200 UCS-2 octets: two parts of at most 134
        wait_for(lambda: len(inbox(smsc)) == 2, "both messages in the phone's inbox")
        assert inbox(smsc) == [DUTCH, CHINESE]
        all_ids = dutch_ids + chinese_ids
        assert len(set(all_ids)) == 4
        wait_for(lambda: all(i in link.receipts for i in all_ids), "a receipt for every part")
        assert {link.receipts[i] for i in all_ids} == {"DELIVRD"}


def test_a_wrong_password_cannot_bind(smsc: Smsc) -> None:
    client = smpplib.client.Client("127.0.0.1", smsc.smpp_port, timeout=5, allow_unknown_opt_params=True)
    client.connect()
    try:
        with pytest.raises(smpplib.exceptions.PDUError) as refused:
            client.bind_transceiver(system_id="topup", password="wrong")
        assert refused.value.args[1] == 0x0D  # ESME_RBINDFAIL
    finally:
        client.disconnect()
    with linked(smsc, password="wrong") as link:
        wait_for(lambda: link.last_error is not None, "the refused bind")
        assert not link.bound
        assert link.bind_count == 0


def test_the_link_rebinds_after_the_smsc_restarts() -> None:
    peer = Smsc(free_port(), free_port())
    with running(peer.args(), f"{peer.url}/healthz") as first, linked(peer) as link:
        assert link.wait_bound(DEADLINE_S)
        first.kill()
        first.wait()
        wait_for(lambda: not link.bound, "the link to notice the drop")
        with running(peer.args(), f"{peer.url}/healthz"):
            wait_for(lambda: link.bind_count >= 2, "the link to rebind by itself")
            ids = link.send(PHONE, "Uw saldo is 5,00 euro.")
            wait_for(lambda: inbox(peer) == ["Uw saldo is 5,00 euro."], "delivery after the restart")
            wait_for(lambda: ids[0] in link.receipts, "the receipt after the restart")


def test_phone_cli_prints_the_reply_of_a_responder(smsc: Smsc) -> None:
    def echo(sender: str, text: str) -> None:
        threading.Thread(target=link.send, args=(sender, f"ECHO {text}"), daemon=True).start()

    with linked(smsc, echo) as link:
        assert link.wait_bound(DEADLINE_S)
        result = subprocess.run(
            [sys.executable, "-m", "topup.simulators.smsc.phone_cli", "--from", PHONE, "--text", "SALDO",
             "--smsc-http", smsc.url, "--wait-s", "20"],
            capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"1919 → {PHONE}: ECHO SALDO" in result.stdout
