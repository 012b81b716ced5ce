"""Orders belong to someone: a stranger holding an order id reads, cancels and scans nothing; the order's
token, the API key that created it and the signed-in line do. Idempotency-Keys are scoped by caller and
claimed before the provider is called: 200 identical requests at once make one order and one payment at
the provider, and a claim left behind by a crash is resumed with the same ids."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.integration.conftest import run_jobs_until_idle
from tests.integration.test_esim import buy_esim
from tests.support.orders import owner, signed_in_token
from topup.channels.api.auth import create_key
from topup.channels.api.schemas import OrderIn
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


def _body(msisdn: str, plan_id: str = "proximus-credit-10") -> dict[str, Any]:
    return {"plan_id": plan_id, "msisdn": msisdn, "payment_method": "card"}


def _intents(payments_simulator: str) -> list[dict[str, Any]]:
    """Every card payment the provider holds: Checkout Sessions, a card's payment before the customer pays
    (walks the simulator's list endpoint); a test compares the list before and after what it does."""
    provider = httpx.Client(
        base_url=payments_simulator, headers={"Authorization": f"Bearer {CONFIG.payments_api_key}"}
    )
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = {"limit": "100", **({"starting_after": after} if after else {})}
        page = provider.get("/v1/checkout/sessions", params=params).json()
        found += page["data"]
        if not page["has_more"]:
            return found
        after = page["data"][-1]["id"]


@pytest.fixture
def api(seeded: None, live_server: Any, payments_simulator: str) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, timeout=30)


def _refused(answer: httpx.Response) -> bool:
    return answer.status_code == 404 and answer.json()["error"]["code"] == "order_not_found"


def test_a_stranger_with_the_order_id_cannot_read_scan_or_cancel_an_esim_order(
    seeded: None, live_server: Any, payments_simulator: str, smdp_simulator: str
) -> None:
    from topup.db.models import Order, Payment  # noqa: PLC0415

    buyer = httpx.Client(base_url=live_server.url, timeout=15)
    order = buy_esim(buyer, "esim-30d-unlimited", "owned-esim")
    assert order["status"] == "delivered", order["history"]
    stranger = httpx.Client(base_url=live_server.url, timeout=15)
    base = f"/api/v1/esim/orders/{order['id']}"
    wrong = {"X-Order-Token": order["order_token"][:-2] + "xx"}

    for headers in ({}, wrong, {"Authorization": f"Bearer {create_key(['orders:write'])}"}):
        assert _refused(stranger.get(f"/api/v1/orders/{order['id']}", headers=headers))
        assert _refused(stranger.get(f"{base}/qr.svg", headers=headers))
        assert _refused(stranger.get(f"{base}/qr.png", headers=headers))
        assert _refused(stranger.post(f"{base}/cancel", headers=headers))
    assert stranger.get(f"/orders/{order['id']}").status_code == 404  # the web page too
    # A forged checkout return link grants the stranger's browser nothing, then or afterwards.
    assert stranger.get(f"/orders/{order['id']}?token=forged", follow_redirects=True).status_code == 404
    assert stranger.get(f"/orders/{order['id']}").status_code == 404
    assert stranger.get(f"{base}/qr.png").status_code == 404
    run_jobs_until_idle()
    assert Order.objects.get(id=order["id"]).status == "delivered"
    assert Payment.objects.get(order_id=order["id"]).refunded_minor == 0

    # The order's own token opens everything, the cancel included.
    assert buyer.get(f"{base}/qr.svg", headers=owner(order)).status_code == 200
    assert buyer.get(f"{base}/qr.png", headers=owner(order)).status_code == 200
    assert buyer.post(f"{base}/cancel", headers=owner(order)).status_code == 202


def test_the_creating_api_key_and_the_signed_in_line_see_the_order_another_key_does_not(
    api: httpx.Client,
) -> None:
    partner = {"Authorization": f"Bearer {create_key(['orders:write'], name='partner')}"}
    other = {"Authorization": f"Bearer {create_key(['orders:write'], name='other')}"}
    created = api.post(
        "/api/v1/orders", json=_body("0470 55 10 01"), headers={**partner, "Idempotency-Key": "owned-1"}
    )
    assert created.status_code == 201, created.text
    order = created.json()
    path = f"/api/v1/orders/{order['id']}"

    assert api.get(path, headers=partner).json()["id"] == order["id"]
    assert api.get(path, headers=owner(order)).json()["id"] == order["id"]
    assert _refused(api.get(path, headers=other))
    assert _refused(api.get(path))
    line = {"Authorization": f"Bearer {signed_in_token('+32470551001')}"}
    assert api.get(path, headers=line).json()["id"] == order["id"]
    someone_else = {"Authorization": f"Bearer {signed_in_token('+32470551002')}"}
    assert _refused(api.get(path, headers=someone_else))


def test_two_callers_with_the_same_idempotency_key_get_separate_orders(api: httpx.Client) -> None:
    first = {"Authorization": f"Bearer {create_key(['orders:write'], name='first')}"}
    second = {"Authorization": f"Bearer {create_key(['orders:write'], name='second')}"}
    answers = [
        api.post("/api/v1/orders", json=_body("0470 55 20 01"), headers={**who, "Idempotency-Key": "shared"})
        for who in (first, second, {})  # two API keys and an anonymous caller
    ]
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    orders = [a.json() for a in answers]
    assert len({o["id"] for o in orders}) == 3
    assert len({o["payment"]["checkout_url"] for o in orders}) == 3
    # Each caller's retry still replays its own order, with the same token.
    again = api.post(
        "/api/v1/orders", json=_body("0470 55 20 01"), headers={**second, "Idempotency-Key": "shared"}
    )
    assert again.json()["id"] == orders[1]["id"]
    assert again.json()["order_token"] == orders[1]["order_token"]


def test_200_identical_requests_at_once_make_one_order_and_one_provider_payment(
    api: httpx.Client, payments_simulator: str
) -> None:
    from topup.db.models import Order  # noqa: PLC0415

    msisdn = "+32470553001"
    headers = {"Idempotency-Key": "two-hundred-at-once"}

    def send(_: int) -> httpx.Response:
        # The test server's listen backlog is short: a reset connection is retried, as a client would
        # (the Idempotency-Key is what makes that safe).
        for _attempt in range(20):
            try:
                with httpx.Client(base_url=str(api.base_url), timeout=60) as client:
                    return client.post("/api/v1/orders", json=_body(msisdn), headers=headers)
            except httpx.TransportError:
                continue
        raise AssertionError("the server never answered")

    before = {i["id"] for i in _intents(payments_simulator)}
    with ThreadPoolExecutor(200) as pool:
        answers = list(pool.map(send, range(200)))

    statuses = {a.status_code for a in answers}
    assert statuses <= {201, 409}, [a.text for a in answers if a.status_code not in {201, 409}][:3]
    busy = [a for a in answers if a.status_code == 409]
    assert all(a.json()["error"]["code"] == "idempotency_in_progress" for a in busy)
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    assert Order.objects.filter(msisdn=msisdn).count() == 1
    assert len([i for i in _intents(payments_simulator) if i["id"] not in before]) == 1


def _stale_claim(key: str, body: dict[str, Any], claimed_ago_s: float) -> tuple[str, str]:
    """The record a crashed attempt leaves: the key claimed with its ids, no order saved."""
    from topup.clock import new_id, now  # noqa: PLC0415
    from topup.db.models import IdempotencyRecord  # noqa: PLC0415
    from topup.pii import hash_ip  # noqa: PLC0415
    from topup.services.idempotency import make_key, scoped  # noqa: PLC0415

    idem = make_key(scoped("orders", f"ip:{hash_ip('127.0.0.1')}"), key, OrderIn(**body).model_dump())
    order_id, payment_id = new_id("ord"), new_id("pay")
    at = now() - timedelta(seconds=claimed_ago_s)
    IdempotencyRecord.objects.create(
        scope=idem.scope, key=idem.key, request_hash=idem.request_hash, state="in_progress",
        order_id=order_id, payment_id=payment_id, created_at=at, claimed_at=at,
    )  # fmt: skip
    return order_id, payment_id


def test_a_claim_left_by_a_crash_is_resumed_with_the_same_ids_and_no_second_payment(
    api: httpx.Client, payments_simulator: str
) -> None:
    from topup.ports import PaymentRequest  # noqa: PLC0415
    from topup.services import orders, peers, plan_text  # noqa: PLC0415
    from topup.services.order_access import order_token  # noqa: PLC0415

    msisdn = "+32470554001"
    body = _body(msisdn)
    order_id, payment_id = _stale_claim("crashed", body, claimed_ago_s=120)
    before = {i["id"] for i in _intents(payments_simulator)}
    # The crashed attempt had already created its payment at the provider, then died before saving: the
    # same request the platform makes (a first top-up over the API: the demo's welcome discount applies).
    quote = orders.quote(orders.QuoteRequest("proximus-credit-10", msisdn, channel="api"))
    peers.current().payment_provider("stripe").create_payment(
        PaymentRequest(
            payment_id=payment_id, order_id=order_id, amount=quote.total, method="card",
            description=plan_text.payment_description("proximus-credit-10", msisdn, "en"),
            return_url=f"{CONFIG.public_url}/orders/{order_id}?token={order_token(order_id)}",
        )
    )  # fmt: skip

    resumed = api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "crashed"})
    assert resumed.status_code == 201, resumed.text
    assert resumed.json()["id"] == order_id
    assert resumed.json()["payment"]["id"] == payment_id
    [intent] = [i for i in _intents(payments_simulator) if i["id"] not in before]
    assert intent["metadata"] == {"order_id": order_id, "payment_id": payment_id}
    again = api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "crashed"})
    assert again.json()["id"] == order_id
    assert len([i for i in _intents(payments_simulator) if i["id"] not in before]) == 1


def test_a_claim_still_in_progress_answers_409_after_a_short_wait(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup.db.models import Order  # noqa: PLC0415
    from topup.services import idempotency  # noqa: PLC0415

    monkeypatch.setattr(idempotency, "CLAIM_WAIT_S", 0.3)
    body = _body("+32470555001")
    _stale_claim("busy", body, claimed_ago_s=0)
    busy = api.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "busy"})
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_in_progress"
    assert not Order.objects.filter(msisdn="+32470555001").exists()


def test_a_voucher_redemption_key_is_scoped_by_caller(seeded: None) -> None:
    from django.test import Client  # noqa: PLC0415

    from topup.services import vouchers  # noqa: PLC0415

    _batch, [(_serial, pin)] = vouchers.generate_batch("proximus", "proximus-credit-10", 1)
    body = {"pin": pin, "msisdn": "0470 55 60 01"}
    shop = {"Authorization": f"Bearer {create_key(['orders:write'], name='shop')}"}
    first = Client().post(
        "/api/v1/vouchers/redeem", body, content_type="application/json",
        headers={**shop, "Idempotency-Key": "redeem-shared"},
    )  # fmt: skip
    assert first.status_code == 201, first.content
    assert (
        Client().get(f"/api/v1/orders/{first.json()['id']}", headers=owner(first.json())).status_code == 200
    )
    # Another caller with the same key and body is not handed the first caller's order: the PIN is spent.
    other = Client().post(
        "/api/v1/vouchers/redeem", body, content_type="application/json",
        headers={"Idempotency-Key": "redeem-shared"},
    )  # fmt: skip
    assert other.status_code != 201
    assert first.json()["id"] not in other.content.decode()
