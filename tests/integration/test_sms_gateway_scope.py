"""The SMS gateway answers on a pool of threads: each message is a log scope of its own, so the order a
service bound for one customer never appears on the next customer's lines; `bind` outside any scope is a
no-op."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from topup import logcontext, sms_gateway
from topup.channels import sms
from topup.logs import BoundIds


class _Link:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, to: str, text: str) -> list[str]:
        self.sent.append(text)
        return []


def _handle(sender: str, text: str) -> str:
    if text == "BUY":
        logcontext.bind(order_id="ord_FIRST")  # as services.orders does once the order exists
    logging.getLogger("topup.test.sms").info("handled %s", text)
    return "ok"


def test_the_second_message_does_not_carry_the_first_ones_order(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sms, "handle_inbound", _handle)
    caplog.handler.addFilter(BoundIds())
    link = _Link()
    with caplog.at_level(logging.INFO, logger="topup.test.sms"), ThreadPoolExecutor(1) as pool:
        pool.submit(sms_gateway.answer, link, "32470000001", "BUY").result()
        pool.submit(sms_gateway.answer, link, "32470000002", "BAL").result()
    first, second = (r for r in caplog.records if r.name == "topup.test.sms")
    assert first.order_id == "ord_FIRST"  # type: ignore[attr-defined]
    assert not hasattr(second, "order_id") or second.order_id != "ord_FIRST"  # type: ignore[attr-defined]
    assert first.request_id  # type: ignore[attr-defined]
    assert second.request_id  # type: ignore[attr-defined]
    assert first.request_id != second.request_id  # type: ignore[attr-defined]
    assert link.sent == ["ok", "ok"]


def test_bind_outside_any_scope_does_nothing() -> None:
    def outside() -> dict[str, str]:
        logcontext.bind(order_id="ord_LEAK")
        return dict(logcontext.current())

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(outside).result() == {}
        assert pool.submit(lambda: dict(logcontext.current())).result() == {}
    with logcontext.bound(request_id="req-1"):
        logcontext.bind(order_id="ord_1")
        assert logcontext.current() == {"request_id": "req-1", "order_id": "ord_1"}
