"""Malformed input is refused with 400 (or 404 for an id) and a stable code, never a 500, on both databases.

Each case is one defect seen from outside: the SMS inbound webhook crashed on invalid JSON, an array,
invalid UTF-8 and deep nesting; signed payment webhooks and the ES2+ callback crashed on deep nesting
(RecursionError); PostgreSQL crashed on an id or a value holding a NUL byte.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from topup.adapters.payments.signature import sign
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000
SMS = "/channels/sms/inbound"
WEBHOOK = "/api/v1/payments/webhooks/stripe"
ES2 = "/api/v1/esim/es2plus/handleDownloadProgressInfo"


def _code(response: Any) -> str:
    return str(json.loads(response.content)["error"]["code"])


def _sms(body: bytes) -> Any:
    headers = {"Authorization": f"Bearer {CONFIG.sms_webhook_key}"}
    return Client().post(SMS, body, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b'["from", "text"]', "json_not_object"),
        (b'{"from": "+32470123456", "text": "\xff\xfe"}', "invalid_json"),
        (DEEP, "json_too_deep"),
        (DEEP_OBJECT, "json_too_deep"),
        (b'{"from": "+32470\\u0000123456", "text": "BAL"}', "invalid_character"),
        (b'{"from": "' + b"4" * 1_100_000 + b'"}', "body_too_large"),
    ],
)
def test_the_sms_webhook_refuses_a_malformed_body(seeded: None, body: bytes, code: str) -> None:
    response = _sms(body)
    assert response.status_code == 400, response.content[:300]
    assert _code(response) == code


def test_the_sms_webhook_ignores_fields_that_are_not_text(seeded: None) -> None:
    response = _sms(b'{"from": {"x": 1}, "text": "BAL"}')
    assert response.status_code == 400
    assert json.loads(response.content)["error"]["field"] == "from"


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b'{"id": "evt_\\u0000", "data": {}}', b"\xff{}"])
def test_a_signed_webhook_with_a_malformed_body_is_acknowledged_and_ignored(
    seeded: None, body: bytes
) -> None:
    """Signed by the provider but unreadable: 200 `ignored` (the provider stops retrying); nothing stored."""
    from topup.db.models import InboxEvent  # noqa: PLC0415

    headers = {"Stripe-Signature": sign(body, CONFIG.webhook_secrets[0], int(time.time()))}
    response = Client().post(WEBHOOK, body, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content[:300]
    assert json.loads(response.content)["outcome"] == "ignored"
    assert not InboxEvent.objects.exists()


@pytest.mark.parametrize(("body", "code"), [(DEEP, "json_too_deep"), (b"[]", "json_not_object")])
def test_the_es2plus_callback_refuses_a_malformed_body(seeded: None, body: bytes, code: str) -> None:
    headers = {"Authorization": f"Bearer {CONFIG.smdp_callback_key}"}
    response = Client().post(ES2, body, content_type="application/json", headers=headers)
    assert response.status_code == 400, response.content[:300]
    assert _code(response) == code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (DEEP, "json_too_deep"),
        (b"[1, 2]", "json_not_object"),
        (b"\xff", "invalid_json"),
        (b"{", "invalid_json"),
    ],
)
def test_api_bodies_are_read_by_the_safe_reader(seeded: None, body: bytes, code: str) -> None:
    response = Client().post("/api/v1/quotes", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert _code(response) == code


def test_a_nul_in_a_json_field_is_refused_before_the_database(seeded: None) -> None:
    body = {"plan_id": "proximus-credit-10\u0000", "msisdn": "0470123456", "payment_method": "card"}
    headers = {"Idempotency-Key": "k\u0000"}
    data = json.dumps(body)
    response = Client().post("/api/v1/orders", data, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert _code(response) == "invalid_character"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/orders/%00", "order_not_found"),
        ("/api/v1/orders/ord_%00abc", "order_not_found"),
        ("/api/v1/esim/orders/%00/qr.svg", "order_not_found"),
        ("/api/v1/lines/%00/balance", "line_not_found"),
        ("/orders/%00", "order_not_found"),
    ],
)
def test_a_nul_in_an_id_is_not_found_on_every_database(seeded: None, path: str, code: str) -> None:
    response = Client().get(path)
    assert response.status_code == 404, response.content[:300]
    assert _code(response) == code


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/api/v1/plans?network=%00", None),
        ("get", "/api/v1/lookup?msisdn=04%0070", None),
        ("get", "/orders/x?lang=%00", None),
        ("post", "/channels/ussd", {"phoneNumber": "+32470123456", "text": "1\x00", "sessionId": "\x00"}),
        ("post", "/channels/ivr/voice?step=%00", {"From": "+32470123456"}),
        ("post", "/topup", {"msisdn": "0470\x00123456"}),
    ],
)
def test_a_nul_in_a_query_or_form_value_is_a_bad_request(
    seeded: None, method: str, path: str, data: dict[str, str] | None
) -> None:
    response = getattr(Client(), method)(path, data) if data else getattr(Client(), method)(path)
    assert response.status_code == 400, response.content[:300]
    assert _code(response) == "invalid_character"


def test_a_nul_in_a_cookie_is_a_bad_request(seeded: None) -> None:
    client = Client()
    client.cookies["sessionid"] = "abc\x00def"
    response = client.get("/my")
    assert response.status_code == 400
    assert _code(response) == "invalid_character"


def test_a_usage_record_named_by_its_imsi_alone_is_not_refused(seeded: None) -> None:
    """The route used to send the empty default ICCID along, so every IMSI-only record was refused as a
    malformed ICCID (400); now the IMSI is what is looked up (no seeded line carries one: 404)."""
    from topup.channels.api.auth import create_key  # noqa: PLC0415

    key = create_key(["usage:write"], name="imsi-only")
    record = {"id": "u-imsi-1", "imsi": "206011234567890", "bytes": 2048,
              "start": "2026-01-01T00:00:00+00:00", "end": "2026-01-01T01:00:00+00:00"}  # fmt: skip
    response = Client().post(
        "/api/v1/usage",
        json.dumps({"records": [record]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 404, response.content[:300]
    assert json.loads(response.content)["error"]["field"] == "records[0].imsi"
