"""Every paid order ends delivered or refunded: a recycled ICCID, a plan switched off while orders are in
flight, and an exception past the delivery deadline no longer leave an order in `delivering` for good."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Carriers, run_jobs_until_idle

pytestmark = pytest.mark.django_db(transaction=True)


def paid(client: httpx.Client, path: str, key: str, **body: str) -> str:
    """Place an order, approve it at the simulator's checkout, wait for the signed webhook: the order id."""
    from topup.db.models import Order  # noqa: PLC0415

    created = client.post(path, json=body, headers={"Idempotency-Key": key})
    assert created.status_code == 201, created.text
    order_id: str = created.json()["id"]
    checkout_url = created.json()["payment"]["checkout_url"]
    approved = httpx.post(checkout_url, data={"action": "approve"}, headers={"Accept": "application/json"})
    assert approved.status_code == 200
    deadline = time.monotonic() + 15
    while Order.objects.get(id=order_id).status == "awaiting_payment":
        assert time.monotonic() < deadline, "the payment webhook never arrived"
        time.sleep(0.05)
    return order_id


def buy_esim(client: httpx.Client, key: str, plan_id: str = "esim-7d-5gb") -> str:
    return paid(client, "/api/v1/esim/orders", key, plan_id=plan_id, payment_method="alipay")


def ended(order_id: str) -> str:
    from topup.db.models import Order  # noqa: PLC0415

    return Order.objects.get(id=order_id).status


def refunded(order_id: str, timeout_s: float = 10.0) -> str:
    """The order's status once its refund ended: Alipay refunds are asynchronous at Stripe (pending until
    the simulator's refund.updated arrives), so the order is `refunded` a moment after the refund job."""
    deadline = time.monotonic() + timeout_s
    while ended(order_id) != "refunded" and time.monotonic() < deadline:
        time.sleep(0.05)
    return ended(order_id)


def balanced() -> bool:
    from topup.db import ledger  # noqa: PLC0415

    return all(t.balanced for t in ledger.trial_balance())


@pytest.fixture
def client(seeded: None, live_server: Any, payments_simulator: str) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, timeout=15)


def test_a_recycled_iccid_is_a_new_life_of_the_line(client: httpx.Client, smdp_simulator: str) -> None:
    from topup.db.models import BundleRecord, Line, LineEvent, Order  # noqa: PLC0415
    from topup.services import esim  # noqa: PLC0415

    first = buy_esim(client, "recycle-1")
    run_jobs_until_idle()
    assert ended(first) == "delivered"
    old_line = Order.objects.get(id=first).line
    assert old_line is not None
    iccid, history = old_line.iccid, LineEvent.objects.filter(line=old_line).count()
    esim.cancel_before_download(first)  # the profile goes back to the SM-DP+'s pool
    run_jobs_until_idle()
    assert refunded(first) == "refunded"

    second = buy_esim(client, "recycle-2", plan_id="esim-30d-unlimited")
    run_jobs_until_idle()
    assert ended(second) == "delivered"
    new_line = Order.objects.get(id=second).line
    assert new_line is not None
    assert new_line.iccid == iccid  # the SM-DP+ handed the same profile out again
    assert new_line.id != old_line.id
    assert [b.order_id for b in BundleRecord.objects.filter(line=new_line)] == [second]
    archived = Line.objects.get(id=old_line.id)
    assert (archived.archived_iccid, archived.iccid) == (iccid, f"{iccid}~{old_line.id}")
    assert archived.archived_at is not None
    assert LineEvent.objects.filter(line=archived).count() == history + 2  # + cancelled + archived
    assert LineEvent.objects.filter(line=archived, code="iccid_recycled").exists()
    assert BundleRecord.objects.filter(line=archived, order_id=first).exists()
    assert esim.find_line(iccid).id == new_line.id
    assert balanced()


def test_a_plan_switched_off_in_flight_is_still_delivered_from_the_frozen_order(
    client: httpx.Client, carriers: Carriers
) -> None:
    from topup.db.models import Order, PlanRecord  # noqa: PLC0415
    from topup.services import catalogue  # noqa: PLC0415

    first = paid(client, "/api/v1/orders", "frozen-1", plan_id="proximus-credit-10", msisdn="0470 55 44 33",
                 payment_method="card")  # fmt: skip
    second = paid(client, "/api/v1/orders", "frozen-2", plan_id="proximus-credit-10", msisdn="0470 55 44 34",
                  payment_method="card")  # fmt: skip
    # An order stored before the network kind was frozen in its quote still finds its way.
    legacy = Order.objects.get(id=second)
    legacy.quote = {k: v for k, v in legacy.quote.items() if k != "network_kind"}
    legacy.save(update_fields=["quote"])
    PlanRecord.objects.filter(id="proximus-credit-10").update(active=False, price_minor=1500)
    catalogue.clear_cache()
    before = carriers.balance_minor("proximus", "+32470554433")
    run_jobs_until_idle()
    assert (ended(first), ended(second)) == ("delivered", "delivered")
    assert carriers.balance_minor("proximus", "+32470554433") == before + 1000  # the frozen face value
    assert balanced()


def test_an_exception_past_the_deadline_ends_in_a_refund(
    client: httpx.Client, smdp_simulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup.db.models import Job, Order, Payment  # noqa: PLC0415
    from topup.services import esim  # noqa: PLC0415
    from topup.worker import claim, run_one  # noqa: PLC0415

    def broken(*_: object) -> None:
        raise RuntimeError("a bug in line creation")

    monkeypatch.setattr(esim, "create_line", broken)
    order_id = buy_esim(client, "deadline-exception")
    for job in claim(10, lease_s=30):  # before the deadline: an exception means "try again later"
        run_one(*job)
    assert ended(order_id) == "delivering"
    assert Job.objects.get(kind="deliver", subject_id=order_id).status == "queued"

    iccid = Order.objects.get(id=order_id).iccid
    assert iccid  # a profile was reserved at the SM-DP+
    Order.objects.filter(id=order_id).update(delivery_deadline=Order.objects.get(id=order_id).created_at)
    Job.objects.filter(subject_id=order_id).update(run_after=Order.objects.get(id=order_id).created_at)
    run_jobs_until_idle()
    assert refunded(order_id) == "refunded"
    order = Order.objects.get(id=order_id)
    assert (order.status, order.failure_code) == ("refunded", "delivery_deadline_passed")
    assert Payment.objects.get(order_id=order_id).status == "refunded"
    profile = httpx.get(f"{smdp_simulator}/sim/profiles/{iccid}").json()
    assert profile["state"] == "Available"  # the reservation went back before the refund
    assert balanced()
