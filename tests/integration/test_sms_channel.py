"""SMS commands end to end over SMPP: a phone texts the SMSC simulator, our ESME link (the same one
`topup sms-gateway` runs) answers through it, and receipts go out as SMS in the line's language."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.db import close_old_connections

from tests.integration.conftest import _log, run_jobs_until_idle
from tests.support.processes import free_port, running
from topup.adapters.messaging.outbox_sms import SmppSmsSender
from topup.adapters.messaging.smpp import SmppLink
from topup.channels import sms
from topup.services import notifications, vouchers

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+32470123456"


@pytest.fixture
def smsc(seeded: None, carriers_simulator: str) -> Iterator[str]:
    """The SMSC simulator, and our ESME bound to it answering every command; receipts go out through it."""
    smpp_port, http_port = free_port(), free_port()
    args = ["-m", "topup.simulators.smsc", "--smpp-port", str(smpp_port), "--http-port", str(http_port)]
    args += ["--system-id", "topup", "--password", "topup123", "--receipt-delay-ms", "20"]
    url = f"http://127.0.0.1:{http_port}"
    pool = ThreadPoolExecutor(2)

    def answer(sender: str, text: str) -> None:
        try:
            link.send(sender, sms.handle_inbound(sender, text))
        finally:
            close_old_connections()

    with running(args, f"{url}/healthz", log_path=_log("smsc-sim")):
        link = SmppLink("127.0.0.1", smpp_port, "topup", "topup123", "1919",
                        lambda sender, text: pool.submit(answer, sender, text).result())  # fmt: skip
        link.start()
        assert link.wait_bound(10)
        notifications.configure(sms=SmppSmsSender("127.0.0.1", smpp_port, "topup", "topup123", link=link))
        try:
            yield url
        finally:
            notifications.configure()
            link.stop()
            pool.shutdown()


def text_and_wait(smsc: str, text: str, sender: str = PHONE, timeout_s: float = 15) -> list[str]:
    since = httpx.get(f"{smsc}/phones/{sender}/inbox").json()["last_seq"]
    httpx.post(f"{smsc}/phones/{sender}/send", json={"text": text, "to": "1919"}).raise_for_status()
    return wait_for_messages(smsc, since, sender, timeout_s)


def wait_for_messages(smsc: str, since: int, sender: str = PHONE, timeout_s: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        messages: list[dict[str, Any]] = httpx.get(
            f"{smsc}/phones/{sender}/inbox", params={"since": since}
        ).json()["messages"]
        if messages:
            return [str(m["text"]) for m in messages]
        time.sleep(0.1)
    raise AssertionError(f"no reply to {sender} within {timeout_s} s")


def test_saldo_in_dutch_then_a_voucher_with_a_chinese_receipt_used_once(smsc: str) -> None:
    [balance] = text_and_wait(smsc, "SALDO")
    assert "Proximus" in balance
    assert "saldo" in balance.lower()  # Dutch: the keyword said so
    _batch, [(_serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)

    [accepted] = text_and_wait(smsc, f"充值 {pin}")
    assert "10.00" in accepted
    assert any("\u4e00" <= ch <= "\u9fff" for ch in accepted), accepted  # answered in Chinese

    since = httpx.get(f"{smsc}/phones/{PHONE}/inbox").json()["last_seq"]
    run_jobs_until_idle()  # delivery to the carrier, then the receipt
    receipts = wait_for_messages(smsc, since)
    assert len(receipts) == 1
    assert any("\u4e00" <= ch <= "\u9fff" for ch in receipts[0])

    [refused] = text_and_wait(smsc, f"充值 {pin}")
    assert "已经用过" in refused


def test_an_explicit_language_choice_is_not_guessed_over(smsc: str) -> None:
    phone = "+32470123458"
    [chosen] = text_and_wait(smsc, "LANG FR", sender=phone)
    assert "français" in chosen
    [balance] = text_and_wait(smsc, "SALDO", sender=phone)  # a Dutch keyword, but French was chosen
    assert "Solde" in balance


def test_unknown_text_gets_help_never_an_error(smsc: str) -> None:
    [reply] = text_and_wait(smsc, "hello?", sender="+32470123457")
    assert "SALDO" in reply  # help, in Dutch until the line chooses another language
    assert "Traceback" not in reply
