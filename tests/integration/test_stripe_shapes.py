"""The simulator's answers have the fields and types Stripe's OpenAPI document gives its objects.

`tests/fixtures/stripe_shapes.json` holds the facts (field -> JSON type, nullable ones as `X|null`, and
the allowed values of a few enumerations), carried over from stripe/openapi. Answers are read raw over
HTTP (what a client without the SDK sees) and through the SDK (that it parses them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from tests.support.stripe_sim import API_KEY, admin, receiving, simulator

FACTS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "stripe_shapes.json").read_text()
)
JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}
RETURN_URL = "https://topup.example/back"


def _type_ok(value: object, declared: str) -> bool:
    for name in declared.split("|"):
        if name == "null" and value is None:
            return True
        kind = JSON_TYPES.get(name)
        if kind is not None and isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return True
    return False


def conforms(obj: Mapping[str, Any], schema: str) -> list[str]:
    """What in `obj` differs from the facts of `schema` (empty when it conforms)."""
    facts = FACTS[schema]
    problems = []
    for field, declared in {**facts["required"], **facts["present"]}.items():
        if field not in obj:
            problems.append(f"{schema}.{field} missing")
        elif not _type_ok(obj[field], declared):
            problems.append(f"{schema}.{field}={obj[field]!r} is not {declared}")
    for field, declared in facts.get("optional", {}).items():
        if field in obj and not _type_ok(obj[field], declared):
            problems.append(f"{schema}.{field}={obj[field]!r} is not {declared}")
    for field, allowed in facts["enums"].items():
        if field in obj and obj[field] not in allowed:
            problems.append(f"{schema}.{field}={obj[field]!r} not in {allowed}")
    return problems


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with receiving() as (_hooks, url), simulator(url, "--refund-delay-ms", "50") as base:
        yield base


def _post(base_url: str, path: str, data: dict[str, str], status: int = 200) -> dict[str, Any]:
    answer = httpx.post(f"{base_url}{path}", data=data, headers={"Authorization": f"Bearer {API_KEY}"})
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _intent(base_url: str, method: str, currency: str = "eur", **extra: str) -> dict[str, Any]:
    data = {"amount": "1250", "currency": currency, "payment_method_types[]": method, "confirm": "true",
            "return_url": RETURN_URL, "metadata[payment_id]": "pay_shape", **extra}  # fmt: skip
    if method == "card":
        data["payment_method"] = "pm_card_threeDSecure2Required"
    else:
        data["payment_method_data[type]"] = method
    return _post(base_url, "/v1/payment_intents", data)


def test_payment_intents_in_every_state_have_stripes_shape(base_url: str) -> None:
    card = _intent(base_url, "card")
    assert conforms(card, "payment_intent") == []
    assert conforms(card["next_action"], "payment_intent_next_action") == []
    assert conforms(card["next_action"]["redirect_to_url"], "next_action_redirect_to_url") == []
    alipay = _intent(base_url, "alipay", "cny")
    assert (
        conforms(alipay["next_action"]["alipay_handle_redirect"], "next_action_alipay_handle_redirect") == []
    )
    wechat = _intent(base_url, "wechat_pay", "cny", **{"payment_method_options[wechat_pay][client]": "web"})
    qr = wechat["next_action"]["wechat_pay_display_qr_code"]
    assert conforms(qr, "next_action_wechat_pay_display_qr_code") == []
    httpx.post(card["next_action"]["redirect_to_url"]["url"], data={"action": "decline"})
    declined = httpx.get(f"{base_url}/v1/payment_intents/{card['id']}", auth=(API_KEY, "")).json()
    assert declined["status"] == "requires_payment_method"
    assert conforms(declined, "payment_intent") == []
    assert conforms(declined["last_payment_error"], "last_payment_error") == []
    canceled = _post(base_url, f"/v1/payment_intents/{alipay['id']}/cancel", {})
    assert conforms(canceled, "payment_intent") == []
    assert isinstance(canceled["canceled_at"], int)


def test_refunds_events_lists_and_errors_have_stripes_shape(base_url: str) -> None:
    intent = _intent(base_url, "alipay", "cny")
    httpx.post(intent["next_action"]["alipay_handle_redirect"]["url"], data={"action": "approve"})
    refund = _post(base_url, "/v1/refunds", {"payment_intent": intent["id"], "amount": "250"})
    assert refund["status"] == "pending"
    assert conforms(refund, "refund") == []
    with admin(base_url) as sim:
        sim.post("/faults", json={"refund_failure_rate": 1.0}).raise_for_status()
        failing = _post(base_url, "/v1/refunds", {"payment_intent": intent["id"], "amount": "100"})
        time.sleep(0.3)
        sim.post("/faults", json={"refund_failure_rate": 0.0}).raise_for_status()
        events = sim.get("/events").json()["data"]
    failed = httpx.get(f"{base_url}/v1/refunds/{failing['id']}", auth=(API_KEY, "")).json()
    assert failed["status"] == "failed"
    assert conforms(failed, "refund") + conforms(failed, "refund_failed") == []
    assert {e["type"] for e in events} >= {"payment_intent.succeeded", "refund.updated", "refund.failed"}
    for event in events:
        assert conforms(event, "event") == []
        assert conforms(event["data"], "event_data") == []
        assert conforms(event["request"], "event_request") == []
    listed = httpx.get(f"{base_url}/v1/refunds", params={"limit": 1}, auth=(API_KEY, "")).json()
    assert conforms(listed, "list") == []
    assert conforms(listed["data"][0], "refund") == []
    missing = httpx.get(f"{base_url}/v1/payment_intents/pi_nope", auth=(API_KEY, ""))
    assert missing.status_code == 404
    assert conforms(missing.json(), "error") + conforms(missing.json()["error"], "api_errors") == []
    card = {"amount": "500", "currency": "eur", "confirm": "true", "payment_method": "pm_card_chargeDeclined"}
    declined = _post(base_url, "/v1/payment_intents", card, 402)
    assert conforms(declined["error"], "api_errors") == []
    assert declined["error"]["decline_code"] == "generic_decline"


def test_the_sdk_reads_every_answer(base_url: str) -> None:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": base_url}, max_network_retries=0)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 990, "currency": "cny", "payment_method_types": ["wechat_pay"], "confirm": True,
            "payment_method_data": {"type": "wechat_pay"}, "return_url": RETURN_URL,
            "payment_method_options": {"wechat_pay": {"client": "web"}}, "expand": ["latest_charge"],
        }
    )  # fmt: skip
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.next_action is not None
    assert intent.next_action.wechat_pay_display_qr_code is not None
    assert conforms(intent.to_dict(recursive=True), "payment_intent") == []
    httpx.post(
        intent.next_action.wechat_pay_display_qr_code.hosted_instructions_url, data={"action": "approve"}
    )
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert isinstance(refund, stripe.Refund)
    assert conforms(refund.to_dict(recursive=True), "refund") == []
    page = client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.id for r in page.data] == [refund.id]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.retrieve("re_nope")
    assert refused.value.http_status == 404
    assert refused.value.code == "resource_missing"


def _session(base_url: str, key: str) -> dict[str, Any]:
    data = {
        "mode": "payment", "payment_method_types[]": "card", "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur", "line_items[0][price_data][unit_amount]": "1250",
        "line_items[0][price_data][product_data][name]": "Top-up", "metadata[payment_id]": key,
        "payment_intent_data[metadata][payment_id]": key, "success_url": RETURN_URL, "cancel_url": RETURN_URL,
        "client_reference_id": "ord_shape", "expires_at": str(int(time.time()) + 31 * 60),
    }  # fmt: skip
    return _post(base_url, "/v1/checkout/sessions", data)


def test_checkout_sessions_open_complete_and_expired_have_stripes_shape(base_url: str) -> None:
    opened = _session(base_url, "pay_shape_open")
    assert conforms(opened, "checkout_session") == []
    assert (opened["status"], opened["payment_status"], opened["payment_intent"]) == ("open", "unpaid", None)
    card = {"number": "4242424242424242", "exp": "12/34", "cvc": "123"}
    httpx.post(opened["url"], data=card, headers={"Accept": "application/json"}).raise_for_status()
    auth = {"Authorization": f"Bearer {API_KEY}"}
    complete = httpx.get(
        f"{base_url}/v1/checkout/sessions/{opened['id']}", params={"expand[]": "payment_intent"}, headers=auth
    ).json()
    assert conforms(complete, "checkout_session") == []
    assert conforms(complete["payment_intent"], "payment_intent") == []
    assert (complete["status"], complete["payment_status"], complete["url"]) == ("complete", "paid", None)
    expired = _post(base_url, f"/v1/checkout/sessions/{_session(base_url, 'pay_shape_x')['id']}/expire", {})
    assert conforms(expired, "checkout_session") == []
    assert expired["status"] == "expired"
    listed = httpx.get(f"{base_url}/v1/checkout/sessions", params={"limit": "2"}, headers=auth).json()
    assert conforms(listed, "list") == []
    assert [conforms(s, "checkout_session") for s in listed["data"]] == [[], []]
    refused = _post(base_url, f"/v1/checkout/sessions/{opened['id']}/expire", {}, status=400)
    assert conforms(refused, "error") + conforms(refused["error"], "api_errors") == []
