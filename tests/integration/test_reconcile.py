"""`topup reconcile payments`: the provider's records of the day against our payments and ledger.

Orders go through the real journey (API, the simulator's checkout, signed webhooks, delivery) on a
simulator of their own, so that the day's list holds only this test's payments; then one mismatch of
each kind is injected, as a bug, a lost webhook or a hand-made refund would leave it.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import transaction

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support import wired
from tests.support.orders import owner, wait_until_paid
from tests.support.stripe_sim import simulator
from topup import cli
from topup.clock import now
from topup.db import ledger
from topup.db.models import Payment
from topup.db.models.ledger import Transfer
from topup.domain.ledger import Posting, booked_at, orders_in_flight, provider_clearing
from topup.domain.money import Money
from topup.ports import PaymentRequest
from topup.services import peers, reconcile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_payments(live_server: Any) -> Iterator[str]:
    """A payment simulator for this test alone, wired in, then the previous one wired back."""
    from topup.settings import CONFIG  # noqa: PLC0415

    previous = wired._addresses.get("payments")
    webhook = f"{live_server.url}/api/v1/payments/webhooks/stripe"
    with simulator(webhook, api_key=CONFIG.payments_api_key, secret=CONFIG.webhook_secrets[0]) as url:
        wired.point(payments=url)
        try:
            yield url
        finally:
            if previous:
                wired.point(payments=previous)
            else:
                wired._addresses.pop("payments", None)
                wired.point()


def _order(client: httpx.Client, msisdn: str, *, pay: bool = True) -> dict[str, Any]:
    body = {"plan_id": "proximus-credit-10", "msisdn": msisdn, "payment_method": "bancontact"}
    created = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert created.status_code == 201, created.text
    order: dict[str, Any] = created.json()
    if pay:
        checkout = order["payment"]["checkout_url"]
        httpx.post(checkout, data={"action": "approve"}, headers={"Accept": "application/json"})
        wait_until_paid(client, order)
    return order


def _run_cli() -> tuple[int, str]:
    out = io.StringIO()
    code = 0
    with redirect_stdout(out):
        try:
            cli.main(["reconcile", "payments"])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


def test_zero_after_journeys_then_each_injected_mismatch(
    seeded: None, live_server: Any, carriers: Carriers, own_payments: str
) -> None:
    client = httpx.Client(base_url=live_server.url, timeout=10)
    delivered = [_order(client, f"+3247055{i:04d}") for i in range(5)]
    waiting = _order(client, "+32470559999", pay=False)
    run_jobs_until_idle()
    assert {
        client.get(f"/api/v1/orders/{o['id']}", headers=owner(o)).json()["status"] for o in delivered
    } == {"delivered"}
    assert reconcile.reconcile_payments(reconcile.today()) == []
    assert _run_cli() == (0, f"reconcile payments {reconcile.today()}: no mismatches\n")

    provider: Any = peers.current().payment_provider("stripe")
    at = now()
    # 1. paid at the provider, never captured (a payment made behind our back, a lost webhook)
    stray = provider.create_payment(
        PaymentRequest(
            f"pay_{uuid.uuid4().hex}",
            "ord_stray",
            Money(700, "EUR"),
            "bancontact",
            "stray",
            return_url=f"{live_server.url}/",
        )
    )
    httpx.post(str(stray.checkout_url), data={"action": "approve"}, headers={"Accept": "application/json"})
    # 2. captured by us, not succeeded at the provider
    Payment.objects.filter(order_id=waiting["id"]).update(status="succeeded")
    capture = Posting(
        f"{waiting['id']}:capture", provider_clearing("stripe"), orders_in_flight(),
        Money(1000, "EUR"), "payment_captured", hold=waiting["id"],
    )  # fmt: skip
    with transaction.atomic():
        ledger.post([capture], now=at, order_id=waiting["id"])
    # 3. captured for another amount than the provider received
    Transfer.objects.filter(id=f"{delivered[0]['id']}:capture").update(amount_minor=900)
    # 4. refunded at the provider, not in our ledger
    paid_ref = Payment.objects.get(order_id=delivered[1]["id"]).provider_ref
    assert provider.refund(paid_ref, Money(1000, "EUR"), f"rfd_manual_{uuid.uuid4().hex}").succeeded
    # 5. refunded in our ledger, not at the provider (a transfer written as a bug would write it)
    target = delivered[2]["id"]
    Transfer.objects.create(
        id=f"{target}:refund", debit_account_id=orders_in_flight().id,
        credit_account_id=provider_clearing("stripe").id, amount_minor=1000, currency="EUR", status="posted",
        code="refund_issued", order_id=target, created_at=at, resolved_at=at, rollup_pending=True,
        booked_at=booked_at(f"{target}:refund"),
    )  # fmt: skip

    found = {(m.kind, m.order_id) for m in reconcile.reconcile_payments(reconcile.today())}
    assert found == {
        ("succeeded_not_captured", "ord_stray"),
        ("captured_not_succeeded", waiting["id"]),
        ("amount_mismatch", delivered[0]["id"]),
        ("refund_not_in_ledger", delivered[1]["id"]),
        ("refund_not_at_provider", delivered[2]["id"]),
    }
    code, printed = _run_cli()
    assert code == 1
    assert delivered[1]["id"] in printed
    assert printed.endswith(f"reconcile payments {reconcile.today()}: 5 mismatch(es)\n")


def test_zero_again_after_the_provider_restarts(
    seeded: None, live_server: Any, carriers: Carriers, tmp_path: Path
) -> None:
    """The simulator keeps its account in its state file (as `topup serve` runs it): a restart does not
    turn the day's captures into captured_not_succeeded."""
    from tests.support.processes import free_port, running  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    previous = wired.current_addresses()
    port, state = free_port(), tmp_path / "payments.sqlite3"
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "topup.simulators.payments", "--port", str(port), "--api-key", CONFIG.payments_api_key]
    args += ["--webhook-url", f"{live_server.url}/api/v1/payments/webhooks/stripe"]
    args += ["--webhook-secret", CONFIG.webhook_secrets[0], "--state-file", str(state)]
    wired.point(payments=url)
    try:
        client = httpx.Client(base_url=live_server.url, timeout=10)
        with running(args, ready_url=f"{url}/healthz"):
            paid = [_order(client, f"+3247055{i:04d}") for i in range(2)]
            run_jobs_until_idle()
            assert reconcile.reconcile_payments(reconcile.today()) == []
        with running(args, ready_url=f"{url}/healthz"):
            assert reconcile.reconcile_payments(reconcile.today()) == []
            assert _run_cli() == (0, f"reconcile payments {reconcile.today()}: no mismatches\n")
            assert {
                client.get(f"/api/v1/orders/{o['id']}", headers=owner(o)).json()["status"] for o in paid
            } == {"delivered"}
    finally:
        wired._addresses.clear()
        wired.point(**previous)
