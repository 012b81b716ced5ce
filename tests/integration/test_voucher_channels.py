"""One PIN, fifty customers at once over SMS, USSD and the API: exactly one top-up. And the API's and the
SMS aggregator webhook's own behaviour."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from tests.support.gateways import GatewayClient
from topup.channels import sms
from topup.db.models import Order, Voucher
from topup.services import vouchers
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


def _number(i: int) -> str:
    return f"+324702{i:05d}"


def _via_api(i: int, pin: str) -> bool:
    answer = Client().post(
        "/api/v1/vouchers/redeem",
        {"pin": pin, "msisdn": _number(i)},
        content_type="application/json",
        headers={"Idempotency-Key": f"race-{i}"},
    )
    return answer.status_code == 201


def _via_ussd(i: int, pin: str) -> bool:
    answer = GatewayClient().gateway_post(
        "/channels/ussd",
        {"sessionId": f"s{i}", "serviceCode": f"*121*{pin}#", "phoneNumber": _number(i), "text": ""},
    )
    return answer.status_code == 200 and Order.objects.filter(msisdn=_number(i)).exists()


def _via_sms(i: int, pin: str) -> bool:
    sms.handle_inbound(_number(i), f"TOPUP {pin}")
    return Order.objects.filter(msisdn=_number(i)).exists()


def test_fifty_concurrent_redemptions_over_three_channels_top_up_once(seeded: None) -> None:
    _batch, [(serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    channels = [_via_api, _via_ussd, _via_sms]

    def attempt(i: int) -> bool:
        try:
            return channels[i % 3](i, pin)
        finally:
            close_old_connections()
            connection.close()

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(attempt, range(50)))
    assert sum(results) == 1
    assert Order.objects.count() == 1
    voucher = Voucher.objects.get(id=serial)
    assert voucher.state == "redeemed"
    assert voucher.order_id == Order.objects.get().id


def test_the_api_replays_a_redemption_and_names_each_refusal(seeded: None) -> None:
    _batch, [(_serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    client = Client()
    body = {"pin": pin, "msisdn": "0470 12 34 56"}
    first = client.post(
        "/api/v1/vouchers/redeem",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "redeem-1"},
    )
    assert first.status_code == 201, first.content
    replayed = client.post(
        "/api/v1/vouchers/redeem",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "redeem-1"},
    )
    assert replayed.status_code == 201
    assert replayed.json()["id"] == first.json()["id"]
    again = client.post(
        "/api/v1/vouchers/redeem",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "redeem-2"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "voucher_already_used"
    unknown = client.post(
        "/api/v1/vouchers/redeem",
        {"pin": "1234567890123", "msisdn": "0470123457"},
        content_type="application/json",
        headers={"Idempotency-Key": "redeem-3"},
    )
    assert unknown.json()["error"]["code"] in {"voucher_unknown", "invalid_pin_format"}
    no_key = client.post("/api/v1/vouchers/redeem", body, content_type="application/json")
    assert no_key.json()["error"]["code"] == "idempotency_key_required"


def test_the_sms_aggregator_webhook_answers_like_the_smpp_link(seeded: None, carriers_simulator: str) -> None:
    client = GatewayClient()
    refused = client.post("/channels/sms/inbound", {"from": "+32470123456", "text": "SALDO"})
    assert refused.status_code == 403
    answer = client.post(
        "/channels/sms/inbound",
        {"from": "+32470123456", "text": "SALDO"},
        headers={"Authorization": f"Bearer {CONFIG.sms_webhook_key}"},
    )
    assert answer.status_code == 200
    assert answer.json()["to"] == "+32470123456"
    assert "Proximus saldo" in answer.json()["reply"]
    signed = client.gateway_post(
        "/channels/sms/inbound", {"from": "+32470123456", "text": "SALDO"}, as_json=True
    )
    assert signed.status_code == 200
    assert signed.json()["reply"] == answer.json()["reply"]
