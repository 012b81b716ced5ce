"""500 paid orders through a faulty carrier (30 % errors, 10 % timeouts), the worker killed with
SIGKILL midway and restarted: every order ends delivered or refunded, the carriers hold exactly what
was delivered, the payment provider refunded exactly the refunded orders, and the ledger balances."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, platform

pytestmark = pytest.mark.slow
ORDERS = 500
PLANS = {"proximus": "proximus-credit-10", "orange": "orange-credit-5", "base": "base-credit-15"}
PREFIX = {"proximus": "+32470", "orange": "+32496", "base": "+32485"}


def _place(client: httpx.Client, i: int) -> dict[str, Any]:
    network = list(PLANS)[i % len(PLANS)]
    msisdn = f"{PREFIX[network]}{300000 + i // 7:06d}"  # a few lines get several top-ups
    body = {"plan_id": PLANS[network], "msisdn": msisdn, "payment_method": "card"}
    created = _post_with_retries(client, "/api/v1/orders", body, f"chaos-{i}")
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()
    approved = httpx.post(
        order["payment"]["checkout_url"],
        data={"action": "approve"},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert approved.status_code == 200, approved.text
    return order


def _post_with_retries(client: httpx.Client, path: str, body: dict[str, str], key: str) -> httpx.Response:
    """A connection reset (an idle keep-alive socket closed by the server) is retried: the Idempotency-Key
    makes the repeat safe, which is the point of it."""
    for attempt in range(3):
        try:
            return client.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _wait_all_final(
    client: httpx.Client, tokens: dict[str, str], timeout_s: float
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    final: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline and len(final) < len(tokens):
        for order_id, token in tokens.items():
            if order_id not in final:
                order = client.get(f"/api/v1/orders/{order_id}", headers={"X-Order-Token": token}).json()
                if order["status"] in {"delivered", "refunded"}:
                    final[order_id] = order
        time.sleep(0.5)
    return final


def _admin_key(stack: Stack) -> str:
    return stack.cli("apikey", "create", "--scope", "admin", "--name", "chaos").strip().splitlines()[-1]


def test_every_paid_order_ends_delivered_or_refunded_through_faults_and_a_killed_worker(
    tmp_path: Path,
) -> None:
    env = {"TOPUP_CARRIER_TIMEOUT_S": "1", "TOPUP_DELIVERY_DEADLINE_S": "25", "TOPUP_JOB_LEASE_S": "5"}
    faults = ("--error-rate", "0.3", "--timeout-rate", "0.1", "--timeout-sleep-s", "2")
    with platform(tmp_path, "topup_e2e_chaos", env, faults) as stack:
        client = httpx.Client(base_url=stack.url, timeout=15)
        with ThreadPoolExecutor(12) as pool:
            first = list(pool.map(lambda i: _place(client, i), range(ORDERS // 2)))
            stack.kill_worker()  # SIGKILL in the middle of deliveries
            second = list(pool.map(lambda i: _place(client, i), range(ORDERS // 2, ORDERS)))
        stack.start_worker()
        tokens = {o["id"]: o["order_token"] for o in first + second}
        final = _wait_all_final(client, tokens, timeout_s=240)
        stuck = {
            i: client.get(f"/api/v1/orders/{i}", headers={"X-Order-Token": t}).json()["status"]
            for i, t in tokens.items()
            if i not in final
        }
        assert not stuck, f"orders not settled: {stuck}"

        delivered = [o for o in final.values() if o["status"] == "delivered"]
        refunded = [o for o in final.values() if o["status"] == "refunded"]
        assert len(delivered) + len(refunded) == ORDERS
        assert delivered, "no order got through at all"

        carriers = stack.carriers()
        summary = carriers.get("/v1/summary").json()["networks"]
        carried = sum(int(n["amount_minor"]) for n in summary.values())
        delivered_minor = sum(int(o["quote"]["face_value"]["amount_minor"]) for o in delivered)
        assert carried == delivered_minor, "the carriers hold something else than what we delivered"
        for order in refunded:
            status = carriers.get(f"/v1/networks/{order['network']}/topups/{order['id']}").json()["status"]
            assert status != "confirmed", f"{order['id']} was refunded but the carrier credited it"
            assert order["payment"]["status"] == "refunded"
        trial = client.get(
            "/api/v1/admin/ledger/trial-balance", headers={"Authorization": f"Bearer {_admin_key(stack)}"}
        ).json()
        assert trial["balanced"] is True
        in_flight = [a for a in trial["accounts"] if a["id"].startswith("in_flight:")]
        assert all(a["debits_minor"] == a["credits_minor"] for a in in_flight), "money left in flight"
