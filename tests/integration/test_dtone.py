"""Orders of a network routed to DT One are delivered through its DVS simulator exactly once, under its
faults and sandbox outcomes; past the deadline a sale that never went out is cancelled and refunded, one
that completes late is delivered, never refunded; the float is watched; reconciliation finds each kind of
mismatch and nothing on the happy path."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Dtone, run_jobs_until_idle
from tests.integration.test_paid_orders_end import paid
from tests.support.processes import free_port
from topup.clock import BRUSSELS
from topup.domain.money import Money
from topup.ports import CarrierOutcome

pytestmark = pytest.mark.django_db(transaction=True)

ORANGE = "+32496%06d"


@pytest.fixture
def client(seeded: None, live_server: Any, payments_simulator: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=15) as http:
        yield http


def buy(client: httpx.Client, key: str, msisdn: str, plan_id: str = "orange-credit-10") -> str:
    return paid(client, "/api/v1/orders", key, plan_id=plan_id, msisdn=msisdn, payment_method="card")


def order(order_id: str) -> Any:
    from topup.db.models import Order  # noqa: PLC0415

    return Order.objects.get(id=order_id)


def one_round() -> None:
    """One claim-and-run round of the worker (a first delivery attempt), as a worker that then stops."""
    from topup.worker import claim, run_one  # noqa: PLC0415

    for job in claim(10, lease_s=30):
        run_one(*job)


def expire(order_id: str) -> None:
    """Move the order's delivery deadline (and its job) into the past."""
    from topup.db.models import Job, Order  # noqa: PLC0415

    created = order(order_id).created_at
    Order.objects.filter(id=order_id).update(delivery_deadline=created)
    Job.objects.filter(subject_id=order_id, status="queued").update(run_after=created)


# ---------------------------------------------------------------- the adapter against the simulator


def test_credit_and_bundle_arrive_as_what_they_are(dtone: Dtone) -> None:
    msisdn, gateway = ORANGE % 111, dtone.gateway
    assert gateway.topup("orange", msisdn, Money(1000, "EUR"), "ord_credit").code == "pending"
    pending = gateway.activate_bundle("orange", msisdn, "210222", Money(999, "EUR"), "ord_bundle")
    assert pending.outcome is CarrierOutcome.UNKNOWN
    time.sleep(0.3)
    assert gateway.status("orange", "ord_credit").outcome is CarrierOutcome.CONFIRMED
    assert gateway.status("orange", "ord_bundle").outcome is CarrierOutcome.CONFIRMED
    line = dtone.line(msisdn)
    assert line["credit_minor"] == 1000  # the bundle did not add its price as credit
    assert [(b["product_id"], b["data_left_mb"]) for b in line["bundles"]] == [(210222, 5120)]
    balance = gateway.balance("orange", msisdn)
    assert not isinstance(balance, type(pending))
    assert balance.balance == Money(1000, "EUR")
    assert [(b.data_left_mb, b.unlimited) for b in balance.bundles] == [(5120, False)]
    # An open amount goes as the ranged product, for exactly that value.
    assert gateway.topup("orange", msisdn, Money(1234, "EUR"), "ord_ranged").code == "pending"
    assert dtone.transaction("ord_ranged")["product"]["type"] == "RANGED_VALUE_RECHARGE"
    assert (
        gateway.buy_from_balance("orange", msisdn, "C5", Money(500, "EUR"), "ord_x").code == "not_supported"
    )


def test_dvs_rules_external_id_once_cancel_only_before_confirm(dtone: Dtone) -> None:
    body = {
        "external_id": "ord_rules",
        "product_id": 210202,
        "credit_party_identifier": {"mobile_number": ORANGE % 222},
    }
    created = dtone.http.post("/v1/async/transactions", json=body)
    assert created.status_code == 201
    assert created.json()["status"]["class"]["message"] == "CREATED"
    again = dtone.http.post("/v1/async/transactions", json=body)
    assert (again.status_code, again.json()["errors"][0]["code"]) == (400, 1007001)
    tx_id = created.json()["id"]
    assert dtone.http.post(f"/v1/async/transactions/{tx_id}/confirm").status_code == 202
    refused = dtone.http.post(f"/v1/transactions/{tx_id}/cancel")
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (400, 1007007)
    # The adapter never refunds what is on its way: in flight, then CONFIRMED once completed.
    assert dtone.gateway.cancel("orange", "ord_rules").code in {"in_flight", None}
    time.sleep(0.3)
    assert dtone.gateway.cancel("orange", "ord_rules").outcome is CarrierOutcome.CONFIRMED
    unauthorized = httpx.get(f"{dtone.url}/v1/balances", auth=("dtone_demo_key", "wrong"))
    assert (unauthorized.status_code, unauthorized.json()["errors"][0]["code"]) == (401, 1000401)


def test_sandbox_numbers_decline_and_the_callback_is_retried_until_2xx(dtone: Dtone) -> None:
    answers = [500, 200]
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            import json  # noqa: PLC0415

            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        callback = f"http://127.0.0.1:{server.server_port}/dtone/callback"
        party = {"mobile_number": ORANGE % 102}
        body = {"external_id": "ord_declined", "product_id": 210202, "auto_confirm": True,
                "callback_url": callback, "credit_party_identifier": party}  # fmt: skip
        assert dtone.http.post("/v1/async/transactions", json=body).status_code == 201
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
    assert [r["status"]["message"] for r in received] == ["DECLINED-INVALID-CREDIT-PARTY"] * 2
    assert [c[2] for c in dtone.http.get("/sim/callbacks").json()] == [500, 200]
    result = dtone.gateway.status("orange", "ord_declined")
    assert (result.outcome, result.code) == (CarrierOutcome.CANCELLED, "DECLINED-INVALID-CREDIT-PARTY")


# ---------------------------------------------------------------- orders through the worker


def test_orders_routed_to_dtone_are_delivered_once_under_timeouts_and_errors(
    client: httpx.Client, dtone: Dtone
) -> None:
    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import Job  # noqa: PLC0415

    msisdn = ORANGE % 333
    balance_before = dtone.gateway.float_balance()
    dtone.faults(error_rate=0.25, timeout_rate=0.4, seed=4)
    ids = [buy(client, f"dtone-faults-{n}", msisdn) for n in range(5)]
    with contextlib.suppress(TimeoutError):
        run_jobs_until_idle(timeout_s=20)  # under faults: some orders wait on a long backoff
    drawn = dtone.http.get("/sim/faults").json()["drawn"]
    assert drawn["error"] > 0
    assert drawn["timeout_applied"] > 0  # sold, but the answer never reached us
    dtone.faults(error_rate=0.0, timeout_rate=0.0)
    Job.objects.filter(status="queued").update(run_after=now())
    run_jobs_until_idle(timeout_s=60)
    assert {order(i).status for i in ids} == {"delivered"}
    assert dtone.line(msisdn)["credit_minor"] == 5 * 1000  # each once
    for order_id in ids:
        assert dtone.transaction(order_id)["status"]["message"] == "COMPLETED"
        assert order(order_id).carrier_ref == str(dtone.transaction(order_id)["id"])
    assert balance_before is not None
    assert dtone.gateway.float_balance() == balance_before - Money(5 * 960, "EUR")  # 4 % below face value


def test_a_sale_created_but_never_confirmed_is_resumed_not_sold_twice(
    client: httpx.Client, dtone: Dtone
) -> None:
    msisdn = ORANGE % 444
    order_id = buy(client, "dtone-crash", msisdn)
    # A worker created the sale and died before confirming it:
    body = {
        "external_id": order_id,
        "product_id": 210202,
        "credit_party_identifier": {"mobile_number": msisdn},
    }
    assert dtone.http.post("/v1/async/transactions", json=body).status_code == 201
    one_round()
    run_jobs_until_idle()
    assert order(order_id).status == "delivered"
    assert dtone.line(msisdn)["credit_minor"] == 1000


def test_past_the_deadline_an_unsent_sale_is_cancelled_then_refunded(
    client: httpx.Client, dtone: Dtone
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    msisdn = ORANGE % 555
    order_id = buy(client, "dtone-deadline", msisdn)
    body = {
        "external_id": order_id,
        "product_id": 210202,
        "credit_party_identifier": {"mobile_number": msisdn},
    }
    assert dtone.http.post("/v1/async/transactions", json=body).status_code == 201  # created, not confirmed
    expire(order_id)
    run_jobs_until_idle()
    assert (order(order_id).status, order(order_id).failure_code) == ("refunded", "delivery_deadline_passed")
    assert Payment.objects.get(order_id=order_id).status == "refunded"
    assert dtone.transaction(order_id)["status"]["message"] == "CANCELLED"
    assert dtone.line(msisdn)["credit_minor"] == 0


def test_a_sale_completing_after_the_deadline_is_delivered_not_refunded(
    client: httpx.Client, dtone: Dtone
) -> None:
    msisdn = ORANGE % 200  # the sandbox's "completed after at least 20 s" (2 s here)
    order_id = buy(client, "dtone-late", msisdn)
    one_round()  # created and confirmed: pending at the operator
    expire(order_id)
    run_jobs_until_idle(timeout_s=60)
    assert order(order_id).status == "delivered"
    assert dtone.line(msisdn)["credit_minor"] == 1000


def test_a_declined_sale_is_refunded(client: httpx.Client, dtone: Dtone) -> None:
    order_id = buy(client, "dtone-declined", ORANGE % 103)  # the sandbox's barred credit party
    run_jobs_until_idle(timeout_s=60)
    assert order(order_id).status == "refunded"


# ---------------------------------------------------------------- float and reconciliation


def test_a_low_float_is_an_alert_and_a_gauge(
    client: httpx.Client, dtone: Dtone, caplog: pytest.LogCaptureFixture
) -> None:
    from topup.services import carrier_float  # noqa: PLC0415

    dtone.http.post("/sim/balance", json={"available_minor": 12_345}).raise_for_status()
    with caplog.at_level(logging.ERROR):
        readings = carrier_float.check_floats(force=True)
    assert [(r.route, r.available_minor) for r in readings] == [("dtone", 12_345)]
    assert any("alert=carrier_float_low route=dtone" in r.getMessage() for r in caplog.records)
    metrics = client.get("/metrics").text
    assert 'topup_carrier_float_minor{currency="EUR",route="dtone"} 12345' in metrics  # labels sorted
    assert 'topup_carrier_float_low{route="dtone"} 1' in metrics
    dtone.http.post("/sim/balance", json={"available_minor": 500_000}).raise_for_status()
    caplog.clear()
    carrier_float.check_floats(force=True)
    assert not [r for r in caplog.records if "carrier_float_low" in r.getMessage()]
    assert 'topup_carrier_float_low{route="dtone"} 0' in client.get("/metrics").text


def _reconcile() -> list[tuple[str, str]]:
    from topup.services.reconcile_carriers import reconcile  # noqa: PLC0415

    # The day reconciled is a Brussels calendar day (the command's): not UTC's, which differs after 23:00.
    return [(m.order_id, m.kind) for m in reconcile(datetime.now(BRUSSELS).date())]


def test_reconcile_is_zero_on_the_happy_path_and_names_each_mismatch(
    client: httpx.Client, dtone: Dtone
) -> None:
    from topup.db.models import CarrierProductRecord, Order  # noqa: PLC0415

    ids = [buy(client, f"dtone-reconcile-{n}", ORANGE % (700 + n)) for n in range(4)]
    run_jobs_until_idle()
    assert {order(i).status for i in ids} == {"delivered"}
    assert _reconcile() == []

    reversed_id, refunded_id, altered_id, product_id = ids
    dtone.http.post(f"/sim/transactions/{dtone.transaction(reversed_id)['id']}/reverse").raise_for_status()
    Order.objects.filter(id=refunded_id).update(status="refunded")
    altered = order(altered_id)
    altered.quote = {**altered.quote, "face_value": {"amount_minor": 1500, "currency": "EUR"}}
    altered.save(update_fields=["quote"])
    assert dtone.gateway.topup("orange", ORANGE % 799, Money(500, "EUR"), "ord_not_ours").code == "pending"
    time.sleep(0.3)
    CarrierProductRecord.objects.filter(route="dtone", plan_id="orange-credit-10").update(
        product_ref="210203"
    )
    found = _reconcile()
    assert ("ord_not_ours", "completed_unknown_order") in found
    assert (reversed_id, "delivered_not_completed") in found
    assert (refunded_id, "completed_not_delivered") in found
    assert (altered_id, "product_mismatch") in found  # the record now names another product
    CarrierProductRecord.objects.filter(route="dtone", plan_id="orange-credit-10").update(
        product_ref="210202"
    )
    assert (altered_id, "amount_mismatch") in _reconcile()
    assert product_id not in {order_id for order_id, _kind in _reconcile()}


def test_reconcile_command_exits_1_on_a_mismatch_and_0_without(dtone: Dtone, seeded: None) -> None:
    from topup.cli import build_parser  # noqa: PLC0415
    from topup.reconcile_cli import run_reconcile_carriers  # noqa: PLC0415

    args = build_parser().parse_args(["reconcile", "carriers"])
    assert args.func is run_reconcile_carriers
    with pytest.raises(SystemExit) as clean:
        args.func(args)
    assert clean.value.code == 0
    dtone.gateway.topup("orange", ORANGE % 798, Money(500, "EUR"), "ord_stranger")
    time.sleep(0.3)
    with pytest.raises(SystemExit) as dirty:
        args.func(args)
    assert dirty.value.code == 1


def test_dt_ones_callback_wakes_the_delivery_which_then_asks_dt_one(
    client: httpx.Client, dtone: Dtone, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace  # noqa: PLC0415
    from datetime import timedelta  # noqa: PLC0415

    from tests.support import wired  # noqa: PLC0415
    from topup import wiring  # noqa: PLC0415
    from topup.channels import carrier_callbacks  # noqa: PLC0415
    from topup.db.models import Job  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    token = "c" * 32
    config = replace(
        CONFIG, carrier_routes={"*": "gateway", "orange": "dtone"}, dtone_timeout_s=1.0,
        public_url=live_server.url, dtone_callback_token=token,
    )  # fmt: skip
    wiring.start(config=config, messaging=False, **{**wired._addresses, "dtone": dtone.url})
    closed = httpx.post(f"{live_server.url}/carriers/dtone/callbacks/{token}", json={"external_id": "x"})
    assert closed.status_code == 404  # no token configured (tests): no callbacks taken
    monkeypatch.setattr(carrier_callbacks, "CONFIG", config)  # the web process's setting
    refused = httpx.post(f"{live_server.url}/carriers/dtone/callbacks/{'x' * 32}", json={"external_id": "x"})
    assert refused.status_code == 404  # not our token

    msisdn = ORANGE % 201  # completes after 2 s: the callback comes while the job waits
    order_id = buy(client, "dtone-callback", msisdn)
    one_round()
    job = Job.objects.filter(kind="deliver", subject_id=order_id)
    job.update(run_after=order(order_id).created_at + timedelta(hours=1))  # a long backoff
    sent = dtone.transaction(order_id)["callback_url"]
    assert sent == f"{live_server.url}/carriers/dtone/callbacks/{token}"
    deadline = time.monotonic() + 10
    while not dtone.http.get("/sim/callbacks").json() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dtone.http.get("/sim/callbacks").json()[0][1:] == ["COMPLETED", 204]
    assert job.get().run_after <= datetime.now(UTC)  # woken, not delivered by the callback itself
    assert order(order_id).status == "delivering"
    run_jobs_until_idle()
    assert order(order_id).status == "delivered"
