"""Every plain field of a log line is kept (JSON in production, key=value in the demo), the ids bound to the
request or job come along, and a phone number is masked in whichever field it is."""

from __future__ import annotations

import json
import logging

from topup import logcontext
from topup.logs import BoundIds, JsonFormatter, MaskNumbers, TextFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "topup.test", logging.INFO, __file__, 1, "topped up %s", ("+32470123456",), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    assert BoundIds().filter(record)
    assert MaskNumbers().filter(record)
    return record


def test_json_keeps_every_plain_extra_field_and_masks_numbers_in_any_of_them() -> None:
    with logcontext.bound(request_id="req-1", order_id="ord_1"):
        logcontext.bind(payment_id="pay_1")
        record = _record(
            reference="ref 0470 12 34 56", line="+32470123456", plan_id="proximus-credit-10",
            amount_minor=1000, msisdn_number=32470123456, nested={"to": ["0032470123456"]},
        )  # fmt: skip
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert list(entry)[:7] == ["ts", "level", "logger", "msg", "request_id", "order_id", "payment_id"]
    assert entry["request_id"] == "req-1"
    assert entry["order_id"] == "ord_1"
    assert entry["payment_id"] == "pay_1"
    assert entry["plan_id"] == "proximus-credit-10"
    assert entry["amount_minor"] == 1000
    assert entry["msg"] == "topped up +32 470 •• •• 56"
    assert entry["reference"] == "ref +32 470 •• •• 56"
    assert entry["line"] == "+32 470 •• •• 56"
    assert entry["msisdn_number"] == "+32 470 •• •• 56"
    assert "nested" not in entry  # plain values only: a dict, a list or an object is not written
    assert "470123456" not in line


def test_a_line_outside_any_request_says_so_and_the_scope_forgets_its_ids() -> None:
    with logcontext.bound(request_id="req-2"):
        logcontext.bind(order_id="ord_2")
    entry = json.loads(JsonFormatter().format(_record()))
    assert entry["request_id"] is None
    assert "order_id" not in entry


def test_the_demo_line_is_readable_with_its_fields() -> None:
    with logcontext.bound(request_id="req-3", job_id="job_3"):
        line = TextFormatter().format(_record(peer="carrier", status=200))
    assert line.endswith(
        "INFO topup.test topped up +32 470 •• •• 56 [request_id=req-3 job_id=job_3 peer=carrier status=200]"
    )


def test_only_a_short_safe_request_id_is_taken_from_a_caller() -> None:
    assert logcontext.accepted("3f2a-9c:01.req_7") == "3f2a-9c:01.req_7"
    assert logcontext.accepted("") == ""
    assert logcontext.accepted("x" * 65) == ""
    assert logcontext.accepted("abc def") == ""
    assert logcontext.accepted('abc"} {"level": "error') == ""
    assert logcontext.accepted("abc\nERROR forged") == ""
    assert len(logcontext.new_request_id()) == 32
