"""Django's own lines for a 4xx (a 404, a CSRF refusal) pass `extra={"request": request}`, whose repr
carries the URL's query: no formatter writes it; a field named as a secret is starred; a number is masked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from topup.logs import BoundIds, JsonFormatter, MaskNumbers, TextFormatter

pytestmark = pytest.mark.django_db


class _Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(formatter)
        self.addFilter(BoundIds())
        self.addFilter(MaskNumbers())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def written() -> Iterator[tuple[_Lines, _Lines]]:
    handlers = (_Lines(JsonFormatter()), _Lines(TextFormatter()))
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security.csrf", "topup.test")]
    for logger in loggers:
        for handler in handlers:
            logger.addHandler(handler)
    try:
        yield handlers
    finally:
        for logger in loggers:
            for handler in handlers:
                logger.removeHandler(handler)


def test_a_404_and_a_csrf_refusal_write_no_query(written: tuple[_Lines, _Lines]) -> None:
    as_json, as_text = written
    assert Client().get("/orders/x?token=SECRETX").status_code == 404
    refused = Client(enforce_csrf_checks=True).post("/my?token=SECRETX", {"email": "a@example.com"})
    assert refused.status_code == 403
    entries = [json.loads(line) for line in as_json.lines]
    assert {entry["logger"] for entry in entries} >= {"django.request", "django.security.csrf"}
    assert all("request" not in entry for entry in entries)
    assert next(entry["status_code"] for entry in entries if entry["logger"] == "django.request") == 404
    assert len(as_text.lines) == len(as_json.lines)
    for line in as_json.lines + as_text.lines:
        assert "SECRETX" not in line


def test_a_secret_field_is_starred_and_a_number_masked_once(written: tuple[_Lines, _Lines]) -> None:
    as_json, as_text = written
    logging.getLogger("topup.test").warning(
        "sent to %s", "+32470123456",
        extra={"pin": "1234567890123456", "api_key": "sk_live_x", "otp_code": "482913", "status_code": 200,
               "line": "0470 12 34 56", "reference": "ref_1", "when": object()},
    )  # fmt: skip
    entry = json.loads(as_json.lines[-1])
    assert entry["pin"] == entry["api_key"] == entry["otp_code"] == "***"
    assert entry["status_code"] == 200
    assert entry["reference"] == "ref_1"
    assert entry["line"] == "+32 470 •• •• 56"
    assert entry["msg"] == "sent to +32 470 •• •• 56"
    assert "when" not in entry
    assert "1234567890123456" not in as_text.lines[-1]
    assert "pin=***" in as_text.lines[-1]
    assert "line=+32 470 •• •• 56" in as_text.lines[-1]
