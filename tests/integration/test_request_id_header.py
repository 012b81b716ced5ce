"""The request id as a caller sees it (the `X-Request-Id` answer) and as the log lines carry it, Django's own
line for a 404 included (written after the middleware returned)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from topup import logcontext
from topup.logs import BoundIds

pytestmark = pytest.mark.django_db


def test_a_safe_id_is_kept_another_is_replaced(client: Client) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42"})
    assert kept["X-Request-Id"] == "lb-7f3a.42"
    replaced = client.get("/healthz", headers={"X-Request-Id": 'x" level=error'})
    assert len(replaced["X-Request-Id"]) == 32
    assert client.get("/healthz")["X-Request-Id"] != replaced["X-Request-Id"]


def test_every_line_of_the_request_carries_it_then_it_is_forgotten(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(BoundIds())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        answer = client.get(
            "/api/v1/orders/ord_01M92XJCJ79XQQXMKGGRKE78Y8", headers={"X-Request-Id": "req-404"}
        )
    assert answer.status_code == 404
    assert answer["X-Request-Id"] == "req-404"
    found = [r for r in caplog.records if r.name == "django.request"]
    assert [r.request_id for r in found] == ["req-404"]  # type: ignore[attr-defined]
    assert logcontext.request_id() == ""  # the response was closed: nothing left on this thread
