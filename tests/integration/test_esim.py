"""Buying an eSIM end to end over real HTTP: order, checkout, ES2+ with the SM-DP+ simulator, QR code,
the phone's download and install (progress callbacks), top-ups that stack or extend, and refusals."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.integration.conftest import run_jobs_until_idle
from tests.integration.test_order_flow import wait_for_status
from tests.support.orders import owner
from topup.channels.api.auth import create_key
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


def _pay(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    approved = httpx.post(
        order["payment"]["checkout_url"], data={"action": "approve"}, headers={"Accept": "application/json"}
    )
    assert approved.status_code == 200
    deadline = time.monotonic() + 15
    while (
        client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["status"]
        == "awaiting_payment"
    ):
        assert time.monotonic() < deadline, "the payment webhook never arrived"
        time.sleep(0.05)
    run_jobs_until_idle()
    final: dict[str, Any] = client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()
    return {**final, "order_token": order["order_token"]}


def buy_esim(client: httpx.Client, plan_id: str, key: str, **extra: str) -> dict[str, Any]:
    body = {"plan_id": plan_id, "payment_method": "alipay", **extra}
    return _pay(client, client.post("/api/v1/esim/orders", json=body, headers={"Idempotency-Key": key}))


def top_up(client: httpx.Client, iccid: str, plan_id: str, key: str) -> dict[str, Any]:
    body = {"plan_id": plan_id, "iccid": iccid, "payment_method": "card"}
    return _pay(client, client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key}))


@pytest.fixture
def esim_world(seeded: None, live_server: Any, payments_simulator: str, smdp_simulator: str) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, timeout=15)


def test_buy_scan_install_and_top_up_twice(esim_world: httpx.Client, smdp_simulator: str) -> None:
    client = esim_world
    order = buy_esim(client, "esim-7d-5gb", "esim-1")
    assert order["status"] == "delivered", order["history"]
    esim = order["esim"]
    assert esim["activation_code"] == f"LPA:1${esim['smdp_address']}${esim['matching_id']}"
    png = client.get(
        urlparse(esim["qr_png_url"]).path, headers=owner(order)
    )  # the demo's public URL is not the test server's
    assert png.headers["content-type"] == "image/png"
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert decoded.text == esim["activation_code"]
    assert (
        client.get(urlparse(esim["qr_svg_url"]).path, headers=owner(order)).text.lstrip().startswith("<?xml")
    )

    phone = {"activation_code": esim["activation_code"], "eid": "89086030202200000022000023022943"}
    steps = httpx.post(f"{smdp_simulator}/sim/download", json=phone)
    assert steps.status_code == 200, steps.text
    deadline = time.monotonic() + 15
    while (
        client.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["esim"]["state"]
        != "installed"
    ):
        assert time.monotonic() < deadline, "the line never became installed"
        time.sleep(0.05)

    first = top_up(client, esim["iccid"], "esim-30d-20gb", "esim-2")
    second = top_up(client, esim["iccid"], "esim-1d-1gb", "esim-3")
    assert first["status"] == second["status"] == "delivered"
    balance = client.get(
        f"/api/v1/lines/{esim['iccid']}/balance",
        headers={"Authorization": f"Bearer {create_key(['balance:read'])}"},
    ).json()
    bundles = {b["plan_id"]: b for b in balance["bundles"]}
    assert set(bundles) == {"esim-7d-5gb", "esim-30d-20gb", "esim-1d-1gb"}
    assert bundles["esim-7d-5gb"]["status"] == "pending"  # starts on first use
    assert bundles["esim-7d-5gb"]["remaining_mb"] == 5_120
    day = bundles["esim-1d-1gb"]
    assert day["status"] == "active"
    starts, expires = datetime.fromisoformat(day["starts_at"]), datetime.fromisoformat(day["expires_at"])
    assert expires - starts == timedelta(days=1)
    assert balance["profile_state"] == "installed"


def test_an_exhausted_profile_pool_ends_in_a_refund_with_the_smdp_code(
    esim_world: httpx.Client, smdp_simulator: str
) -> None:
    admin = {"Authorization": f"Bearer {CONFIG.smdp_api_key}"}
    httpx.post(
        f"{smdp_simulator}/admin/pool", json={"profileType": "BE-DATA", "count": 0}, headers=admin
    ).raise_for_status()
    try:
        order = buy_esim(esim_world, "esim-1d-1gb", "esim-empty-pool")
    finally:
        httpx.post(
            f"{smdp_simulator}/admin/pool", json={"profileType": "BE-DATA", "count": 50}, headers=admin
        )
    order = wait_for_status(esim_world, order, {"refunded"})  # Alipay refunds are asynchronous at Stripe
    assert order["status"] == "refunded"
    codes = [h["code"] for h in order["history"]]
    assert "smdp_8.2.5_3.7" in codes
    assert order["payment"]["status"] == "refunded"


def test_an_eid_binds_the_profile_and_an_esim_plan_is_not_for_a_number(esim_world: httpx.Client) -> None:
    order = buy_esim(esim_world, "esim-1d-1gb", "esim-eid", eid="89049032123451234512345678901235")
    assert order["status"] == "delivered"
    wrong = esim_world.post(
        "/api/v1/orders",
        headers={"Idempotency-Key": "esim-wrong"},
        json={"plan_id": "esim-1d-1gb", "msisdn": "0470123456", "payment_method": "card"},
    )
    assert wrong.status_code == 404
    assert wrong.json()["error"]["code"] == "line_not_found"
    not_esim = esim_world.post(
        "/api/v1/orders",
        headers={"Idempotency-Key": "esim-wrong-2"},
        json={"plan_id": "proximus-credit-10", "iccid": order["esim"]["iccid"], "payment_method": "card"},
    )
    assert not_esim.status_code == 400
    assert not_esim.json()["error"]["code"] == "not_an_esim_plan"


def test_expired_bundles_are_closed_with_their_remainder_recorded(seeded: None) -> None:
    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import BundleRecord, Line, LineEvent  # noqa: PLC0415
    from topup.services.maintenance import expire_bundles  # noqa: PLC0415

    at = now()
    line = Line.objects.create(
        id="ln_test", network_id="topup-esim", iccid="8932042000010245583", created_at=at, updated_at=at
    )
    common = {
        "line": line,
        "plan_id": "esim-1d-1gb",
        "data_kb": 1_048_576,
        "validity_days": 1,
        "purchased_at": at - timedelta(days=2),
        "starts_at": at - timedelta(days=2),
        "status": "active",
    }
    BundleRecord.objects.create(id="bdl_old", used_kb=48_576, expires_at=at - timedelta(days=1), **common)
    BundleRecord.objects.create(id="bdl_new", used_kb=0, expires_at=at + timedelta(hours=1), **common)

    assert expire_bundles() == 1
    assert expire_bundles() == 0  # a second sweep finds nothing more
    old = BundleRecord.objects.get(id="bdl_old")
    assert (old.status, old.expired_remaining_kb) == ("expired", 1_000_000)
    assert BundleRecord.objects.get(id="bdl_new").status == "active"
    [event] = LineEvent.objects.filter(line=line, kind="bundle_expired")
    assert event.code == "bdl_old"


def test_cancel_before_download_gives_the_profile_and_the_money_back(
    esim_world: httpx.Client, smdp_simulator: str
) -> None:
    from topup.db import ledger  # noqa: PLC0415

    order = buy_esim(esim_world, "esim-30d-unlimited", "esim-cancel")
    iccid = order["esim"]["iccid"]
    cancelled = esim_world.post(f"/api/v1/esim/orders/{order['id']}/cancel", headers=owner(order))
    assert cancelled.status_code == 202, cancelled.text
    run_jobs_until_idle()
    final = wait_for_status(esim_world, order, {"refunded"})  # Alipay refunds are asynchronous at Stripe
    assert final["status"] == "refunded"
    assert final["payment"]["status"] == "refunded"
    assert final["esim"]["state"] == "cancelled"
    profile = httpx.get(f"{smdp_simulator}/sim/profiles/{iccid}").json()
    assert profile["state"] == "Available"
    assert ledger.in_flight(order["id"]) == 0
    assert all(t.balanced for t in ledger.trial_balance())
    again = esim_world.post(f"/api/v1/esim/orders/{order['id']}/cancel", headers=owner(order))
    assert again.status_code == 409


def test_an_installed_esim_cannot_be_cancelled(esim_world: httpx.Client, smdp_simulator: str) -> None:
    order = buy_esim(esim_world, "esim-1d-1gb", "esim-no-cancel")
    phone = {"activation_code": order["esim"]["activation_code"], "eid": "89049032123451234512345678901235"}
    httpx.post(f"{smdp_simulator}/sim/download", json=phone).raise_for_status()
    deadline = time.monotonic() + 15
    while (
        esim_world.get(f"/api/v1/orders/{order['id']}", headers=owner(order)).json()["esim"]["state"]
        != "installed"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    refused = esim_world.post(f"/api/v1/esim/orders/{order['id']}/cancel", headers=owner(order))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "esim_already_downloaded"


def test_usage_over_the_api_is_rated_once_and_an_unknown_iccid_changes_nothing(
    esim_world: httpx.Client,
) -> None:
    from topup.db.models import UsageRow  # noqa: PLC0415

    order = buy_esim(esim_world, "esim-1d-1gb", "esim-usage")
    key = {"Authorization": f"Bearer {create_key(['usage:write'])}"}
    start = datetime.now(tz=UTC) - timedelta(minutes=5)
    records = [
        {"id": f"cdr-{i}", "iccid": order["esim"]["iccid"], "bytes": 1_000_000,
         "start": start.isoformat(), "end": (start + timedelta(seconds=60)).isoformat()}
        for i in range(3)
    ]  # fmt: skip
    first = esim_world.post("/api/v1/usage", json={"records": records}, headers=key)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 3
    again = esim_world.post("/api/v1/usage", json={"records": records}, headers=key).json()
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    unknown = [{**records[0], "id": "cdr-x", "iccid": "8932042000002035349"}]
    refused = esim_world.post(
        "/api/v1/usage", json={"records": [*unknown, {**records[0], "id": "cdr-y"}]}, headers=key
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "line_not_found"
    assert UsageRow.objects.count() == 3
    no_key = esim_world.post("/api/v1/usage", json={"records": records})
    assert no_key.status_code == 401
