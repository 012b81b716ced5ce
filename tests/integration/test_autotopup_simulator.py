"""The payment simulator's Customers, saved cards and off-session charges, in Stripe's shapes: raw over HTTP
(checked against tests/fixtures/stripe_shapes.json) and through our adapter on the official SDK."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_stripe_shapes import conforms
from tests.support.stripe_sim import API_KEY, admin, simulator
from topup.adapters.payments.stripe_saved import StripeSavedCards
from topup.domain.money import Money
from topup.ports import OffSessionCharge, PaymentStatus
from topup.settings import CONFIG

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with simulator() as base:
        yield base


def _post(base_url: str, path: str, data: dict[str, str], status: int = 200, key: str = "") -> Any:
    headers = {**AUTH, **({"Idempotency-Key": key} if key else {})}
    answer = httpx.post(f"{base_url}{path}", data=data, headers=headers)
    assert answer.status_code == status, answer.text
    return answer.json()


def _saved_card(base_url: str, card: str = "pm_card_visa") -> tuple[str, str, dict[str, Any]]:
    """A customer, and a first payment that saves `card` to it: (customer, saved pm, the intent)."""
    customer = _post(base_url, "/v1/customers", {"email": "a@topup.test"})
    intent = _post(base_url, "/v1/payment_intents", {
        "amount": "1000", "currency": "eur", "customer": customer["id"], "payment_method": card,
        "setup_future_usage": "off_session", "confirm": "true", "payment_method_types[]": "card",
    })  # fmt: skip
    return customer["id"], intent["payment_method"], intent


def _off_session(base_url: str, customer: str, method: str, status: int, key: str = "") -> Any:
    return _post(base_url, "/v1/payment_intents", {
        "amount": "1000", "currency": "eur", "customer": customer, "payment_method": method,
        "off_session": "true", "confirm": "true", "metadata[payment_id]": "pay_x",
    }, status, key or uuid.uuid4().hex)  # fmt: skip


def test_a_first_payment_saves_its_card_to_the_customer(base_url: str) -> None:
    customer, method, intent = _saved_card(base_url)
    assert intent["status"] == "succeeded"
    assert intent["customer"] == customer
    assert intent["setup_future_usage"] == "off_session"
    assert method.startswith("pm_")
    assert method != "pm_card_visa"
    assert conforms(intent, "payment_intent") == []
    found = httpx.get(f"{base_url}/v1/payment_methods/{method}", headers=AUTH).json()
    assert found["customer"] == customer
    assert conforms(found, "payment_method") == []
    assert conforms(httpx.get(f"{base_url}/v1/customers/{customer}", headers=AUTH).json(), "customer") == []


def test_off_session_charges_succeed_once_per_key_or_decline_in_stripes_shape(base_url: str) -> None:
    customer, method, _intent = _saved_card(base_url)
    key = uuid.uuid4().hex
    paid = _off_session(base_url, customer, method, 200, key)
    assert paid["status"] == "succeeded"
    assert paid["customer"] == customer
    assert (
        _off_session(base_url, customer, method, 200, key)["id"] == paid["id"]
    )  # replayed, not charged twice
    with admin(base_url) as sim:
        sim.post(
            f"/payment_methods/{method}/off_session", json={"outcome": "generic_decline"}
        ).raise_for_status()
        declined = _off_session(base_url, customer, method, 402)
        sim.post(f"/payment_methods/{method}/off_session", json={"outcome": "authentication_required"})
        needs_customer = _off_session(base_url, customer, method, 402)
    for body, code in ((declined, "card_declined"), (needs_customer, "authentication_required")):
        error = body["error"]
        assert conforms(body, "error") == []
        assert conforms(error, "api_errors") == []
        assert error["type"] == "card_error"
        assert error["code"] == code
        assert error["payment_intent"]["status"] == "requires_payment_method"
        assert conforms(error["payment_intent"], "payment_intent") == []
        assert conforms(error["payment_intent"]["last_payment_error"], "last_payment_error") == []


def test_stripes_test_card_0341_is_saved_then_declined_off_session(base_url: str) -> None:
    customer, method, intent = _saved_card(base_url, "pm_card_chargeCustomerFail")
    assert intent["status"] == "succeeded"
    assert _off_session(base_url, customer, method, 402)["error"]["code"] == "card_declined"


def test_a_card_of_another_customer_is_refused(base_url: str) -> None:
    _customer, method, _intent = _saved_card(base_url)
    stranger = _post(base_url, "/v1/customers", {})
    assert _off_session(base_url, stranger["id"], method, 400)["error"]["param"] == "payment_method"


def test_the_adapter_charges_and_reads_the_saved_card(base_url: str) -> None:
    saved = StripeSavedCards(base_url, API_KEY, CONFIG.stripe_api_version)
    customer = saved.create_customer("pay_adapter_1", "b@topup.test")
    assert saved.create_customer("pay_adapter_1", "b@topup.test") == customer  # same key, same customer
    intent = _post(base_url, "/v1/payment_intents", {
        "amount": "500", "currency": "eur", "customer": customer, "payment_method": "pm_card_visa",
        "setup_future_usage": "off_session", "confirm": "true",
    })  # fmt: skip
    card = saved.saved_card(intent["id"])
    assert card is not None
    assert card.customer_ref == customer
    assert card.last4 == "4242"
    charge = OffSessionCharge(f"pay_{uuid.uuid4().hex[:20]}", "ord_x", Money(500, "EUR"), customer,
                              card.payment_method_ref, "Auto top-up")  # fmt: skip
    first = saved.charge_off_session(charge)
    assert first.status is PaymentStatus.SUCCEEDED
    assert saved.charge_off_session(charge).provider_ref == first.provider_ref  # the same charge, replayed
    with admin(base_url) as sim:
        sim.post(
            f"/payment_methods/{card.payment_method_ref}/off_session", json={"outcome": "generic_decline"}
        )
    again = OffSessionCharge(f"pay_{uuid.uuid4().hex[:20]}", "ord_x", Money(500, "EUR"), customer,
                             card.payment_method_ref, "x")  # fmt: skip
    declined = saved.charge_off_session(again)
    assert declined.status is PaymentStatus.FAILED
    assert declined.code == "card_declined"
    saved.forget(card.payment_method_ref, "detach_1")
    saved.forget(card.payment_method_ref, "detach_2")  # already detached: not an error
    assert saved.saved_card(intent["id"]) is None
