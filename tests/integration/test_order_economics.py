"""An order's economics (our commission and the carrier's share of the net) are the shop's and the
carrier's business: the API shows them to the operator's staff (an API key with the admin scope), never to
the buyer's order token, a signed-in line or a plain API key."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from topup.channels.api.auth import create_key

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56", "payment_method": "bancontact"}
HIDDEN = {"commission": None, "carrier_amount": None}


def _place(client: Client, key: str, bearer: str = "") -> dict[str, Any]:
    headers = {"Idempotency-Key": key, **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    answer = client.post("/api/v1/orders", BODY, content_type="application/json", headers=headers)
    assert answer.status_code == 201, answer.content
    order: dict[str, Any] = answer.json()
    return order


def _economics(quote: dict[str, Any]) -> dict[str, Any]:
    return {name: quote.get(name) for name in HIDDEN}


def test_a_customer_reads_its_order_without_the_economics(seeded: None, payments_simulator: str) -> None:
    client = Client()
    order = _place(client, "economics-token")
    assert _economics(order["quote"]) == HIDDEN
    assert order["quote"]["net"] == {"amount_minor": 826, "currency": "EUR"}  # what the buyer may know
    read = client.get(f"/api/v1/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]})
    assert read.status_code == 200
    assert _economics(read.json()["quote"]) == HIDDEN

    plain = create_key(["orders:write", "balance:read"], name="a partner app")
    by_key = _place(client, "economics-key", bearer=plain)
    assert _economics(by_key["quote"]) == HIDDEN
    read = client.get(f"/api/v1/orders/{by_key['id']}", headers={"Authorization": f"Bearer {plain}"})
    assert read.status_code == 200
    assert _economics(read.json()["quote"]) == HIDDEN


def test_staff_reads_the_commission_and_the_carriers_share(seeded: None, payments_simulator: str) -> None:
    from topup.db.models import Order  # noqa: PLC0415

    client = Client()
    staff = create_key(["admin"], name="back office")
    order = _place(client, "economics-staff", bearer=staff)
    read = client.get(f"/api/v1/orders/{order['id']}", headers={"Authorization": f"Bearer {staff}"})
    assert read.status_code == 200
    assert _economics(read.json()["quote"]) == {
        "commission": {"amount_minor": 41, "currency": "EUR"},  # 5 % of the 8.26 net
        "carrier_amount": {"amount_minor": 785, "currency": "EUR"},
    }
    # The same order read with its token (the buyer) shows none of it, and the stored quote keeps it all.
    as_buyer = client.get(f"/api/v1/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]})
    assert _economics(as_buyer.json()["quote"]) == HIDDEN
    assert Order.objects.get(id=order["id"]).quote["commission"] == {"amount_minor": 41, "currency": "EUR"}


def test_the_openapi_document_says_who_reads_the_economics(seeded: None) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    quote = document["components"]["schemas"]["FrozenQuoteOut"]
    for name in HIDDEN:
        assert name not in quote.get("required", [])
        assert "admin scope" in quote["properties"][name]["description"]
