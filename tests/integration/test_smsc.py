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
from typing import Any

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
    for system_id, password, bind, status in (
        ("topup", "wrong", "bind_transceiver", 0x0E),  # ESME_RINVPASWD
        ("nobody", "topup123", "bind_transmitter", 0x0F),  # ESME_RINVSYSID
    ):
        client = smpplib.client.Client("127.0.0.1", smsc.smpp_port, timeout=5, allow_unknown_opt_params=True)
        client.connect()
        try:
            with pytest.raises(smpplib.exceptions.PDUError) as refused:
                getattr(client, bind)(system_id=system_id, password=password)
            assert refused.value.args[1] == status
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


# ---------------------------------------------------------------- protocol conformance (issue #8, item 9)


def inbox_messages(smsc: Smsc, phone: str = PHONE) -> list[dict[str, Any]]:
    response = httpx.get(f"{smsc.url}/phones/{phone}/inbox", params={"since": 0})
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def test_an_escape_or_a_surrogate_pair_at_a_part_boundary_reaches_the_phone_whole(smsc: Smsc) -> None:
    """The SMSC simulator decodes each part on its own, as a phone does: a cut `€` would read ` e`."""
    euro = "a" * 152 + "€" + " Uw saldo is 5,00 € [SALDO] {ok} ~^|\\" + "b" * 80
    emoji = "余额" * 33 + "😀" + "谢谢" * 20
    with linked(smsc) as link:
        assert link.wait_bound(DEADLINE_S)
        assert len(link.send(PHONE, euro)) == 2
        assert len(link.send(PHONE, emoji)) == 2
        wait_for(lambda: len(inbox(smsc)) == 2, "both messages in the phone's inbox")
    assert inbox(smsc) == [euro, emoji]


def test_an_smsc_unbind_is_answered_and_the_link_binds_again(smsc: Smsc) -> None:
    with linked(smsc) as link:
        assert link.wait_bound(DEADLINE_S)
        answer = httpx.post(f"{smsc.url}/admin/unbind", timeout=15).json()
        assert answer["unbound"] == 1
        assert answer["sessions"][0]["unbind_resp"] is True
        wait_for(lambda: link.bind_count == 2 and link.bound, "the link to bind again")
        assert link.unbinds_answered == 1
        health = httpx.get(f"{smsc.url}/healthz").json()
        assert health["unbinds"] == {"sent": 1, "answered": 1}
        link.send(PHONE, "Na de unbind.")
        wait_for(lambda: inbox(smsc) == ["Na de unbind."], "a message sent over the new bind")


@pytest.mark.parametrize("source_format", ["unknown", "national", "international"])
def test_a_reply_goes_to_the_sender_in_international_format_whatever_its_ton(
    smsc: Smsc, source_format: str
) -> None:
    senders: list[str] = []

    def echo(sender: str, text: str) -> None:
        senders.append(sender)
        threading.Thread(target=link.send, args=(sender, f"ECHO {text}"), daemon=True).start()

    with linked(smsc, echo) as link:
        assert link.wait_bound(DEADLINE_S)
        body = {"text": "SALDO", "to": "1919", "source_format": source_format}
        assert httpx.post(f"{smsc.url}/phones/{PHONE}/send", json=body).status_code == 202
        wait_for(lambda: inbox(smsc) == ["ECHO SALDO"], "the reply in the sender's inbox")
    assert senders == [PHONE]
    wire = inbox_messages(smsc)[0]["wire_address"]
    assert wire == {"destination_addr": "32470123456", "dest_addr_ton": 1, "dest_addr_npi": 1}


def test_the_smsc_refuses_a_national_number_sent_as_international(smsc: Smsc) -> None:
    client = smpplib.client.Client("127.0.0.1", smsc.smpp_port, timeout=5, allow_unknown_opt_params=True)
    statuses: list[int] = []
    client.set_message_sent_handler(lambda pdu: statuses.append(int(pdu.status)))
    client.set_error_pdu_handler(lambda pdu: None)  # the sent handler sees every submit_sm_resp
    client.connect()
    try:
        client.bind_transceiver(system_id="topup", password="topup123")
        for address in ("0470123456", "32470123456"):
            client.send_message(
                source_addr_ton=3, source_addr_npi=1, source_addr="1919", dest_addr_ton=1, dest_addr_npi=1,
                destination_addr=address, short_message=b"SALDO",
            )  # fmt: skip
            client.read_once()
    finally:
        client.disconnect()
    assert statuses == [0x0B, 0]  # ESME_RINVDSTADR, then ESME_ROK


def test_a_transmitter_is_never_handed_a_mobile_originated_message(smsc: Smsc) -> None:
    transmitter = smpplib.client.Client("127.0.0.1", smsc.smpp_port, timeout=5, allow_unknown_opt_params=True)
    transmitter.connect()
    received: list[tuple[str, str]] = []
    try:
        transmitter.bind_transmitter(system_id="topup", password="topup123")
        phone_sends(smsc, "SALDO")  # waits at the SMSC: no transceiver is bound
        with linked(smsc, lambda sender, text: received.append((sender, text))) as link:
            assert link.wait_bound(DEADLINE_S)
            wait_for(lambda: [text for _, text in received] == ["SALDO"], "the message, at the transceiver")
        transmitter.unbind()  # answered at once: nothing was sent to the transmitter in between
    finally:
        transmitter.disconnect()
