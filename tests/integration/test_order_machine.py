"""A hypothesis state machine drives orders, payments, webhooks (duplicated, out of order, failed),
carrier faults, deadlines and worker steps in random order, against the real simulators, and checks
the platform against a small independent model of who paid what and what each line must hold."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from tests.integration.conftest import Carriers, _log
from tests.support.processes import free_port, running
from tests.support.wired import point
from topup.adapters.payments.signature import sign
from topup.clock import now
from topup.db import ledger
from topup.db.models import Account, IdempotencyRecord, InboxEvent, Job, JobKey, Order, Payment, Transfer
from topup.services.idempotency import make_key
from topup.services.orders import QuoteRequest, place_order
from topup.settings import CONFIG
from topup.worker import claim, run_one

pytestmark = pytest.mark.django_db(transaction=True)

# (plan, line): the third line was ported away from Proximus, so the carrier refuses it for good.
PURCHASES = [
    ("proximus-credit-10", "+32470200001"),
    ("proximus-credit-5", "+32470200002"),
    ("proximus-credit-20", "+32470000001"),
    ("orange-credit-15", "+32496200001"),
]
PRICE = {
    "proximus-credit-10": 1000,
    "proximus-credit-5": 500,
    "proximus-credit-20": 2000,
    "orange-credit-15": 1500,
}
NETWORK = {
    "proximus-credit-10": "proximus",
    "proximus-credit-5": "proximus",
    "proximus-credit-20": "proximus",
    "orange-credit-15": "orange",
}


@dataclass
class ModelOrder:
    """What the model knows of one order: only facts the test itself caused."""

    id: str
    plan: str
    msisdn: str
    payment_id: str
    provider_ref: str
    events_sent: list[bytes] = field(default_factory=list)
    success_sent: bool = False


def _wipe() -> None:
    Job.objects.all().delete()
    JobKey.objects.all().delete()
    InboxEvent.objects.all().delete()
    IdempotencyRecord.objects.all().delete()
    Transfer.objects.all().delete()
    Payment.objects.all().delete()
    Order.objects.all().delete()
    Account.objects.all().delete()
    ledger._known_accounts.clear()


class OrderMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    carriers: Carriers
    payments_url: str
    outcomes: Counter[str] = Counter()  # over all examples: proves the machine reached every ending

    def __init__(self) -> None:
        super().__init__()
        _wipe()
        self.web = Client()
        self.model: dict[str, ModelOrder] = {}
        self.counter = 0
        self.baseline = {line: self.carriers.balance_minor(NETWORK[plan], line) for plan, line in PURCHASES}

    def _event(self, order: ModelOrder, kind: str) -> bytes:
        self.counter += 1
        status = {"payment_intent.succeeded": "succeeded"}.get(kind, "requires_payment_method")
        error = None if kind == "payment_intent.succeeded" else {"code": "card_declined"}
        intent = {
            "id": order.provider_ref,
            "object": "payment_intent",
            "status": status,
            "amount": PRICE[order.plan],
            "currency": "eur",
            "amount_refunded": 0,
            "last_payment_error": error,
            "metadata": {"order_id": order.id, "payment_id": order.payment_id},
        }
        return json.dumps(
            {
                "id": f"evt_m{self.counter}_{time.time_ns()}",
                "object": "event",
                "type": kind,
                "created": int(time.time()),
                "data": {"object": intent},
            }
        ).encode()

    def _send(self, body: bytes) -> None:
        header = sign(body, CONFIG.webhook_secrets[0], int(time.time()))
        answer = self.web.post(
            "/api/v1/payments/webhooks/stripe",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": header},
        )
        assert answer.status_code == 200, answer.content

    @rule(target=orders, purchase=st.sampled_from(PURCHASES))
    def place(self, purchase: tuple[str, str]) -> str:
        plan, msisdn = purchase
        self.counter += 1
        request = QuoteRequest(plan, msisdn)
        idem = make_key(
            "orders", f"machine-{self.counter}-{time.time_ns()}", {"plan": plan, "msisdn": msisdn}
        )
        body = place_order(request, payment_method="card", channel="api", language="en", idem=idem).body
        payment = body["payment"]
        assert isinstance(payment, dict)
        ref = Payment.objects.get(id=payment["id"]).provider_ref or ""
        order_id = str(body["id"])
        self.model[order_id] = ModelOrder(order_id, plan, msisdn, str(payment["id"]), ref)
        return order_id

    @rule(
        order_id=orders,
        kind=st.sampled_from(["payment_intent.succeeded"] * 3 + ["payment_intent.payment_failed"]),
    )
    def webhook(self, order_id: str, kind: str) -> None:
        order = self.model[order_id]
        if kind == "payment_intent.succeeded":
            # The customer approves at the provider; this machine then plays the provider's webhook itself.
            paid = httpx.post(
                f"{self.payments_url}/checkout/{order.provider_ref}",
                data={"action": "approve"},
                headers={"Accept": "application/json"},
            )
            paid.raise_for_status()
            # A card is paid on its Checkout Session's page; the events name the PaymentIntent it made.
            order.provider_ref = paid.json().get("payment_intent") or order.provider_ref
        body = self._event(order, kind)
        order.events_sent.append(body)
        order.success_sent |= kind == "payment_intent.succeeded"
        self._send(body)

    @rule(order_id=orders, data=st.data())
    def replay_a_webhook(self, order_id: str, data: st.DataObject) -> None:
        order = self.model[order_id]
        if order.events_sent:
            self._send(data.draw(st.sampled_from(order.events_sent)))

    @rule(error_rate=st.sampled_from([0.0, 0.5, 1.0]))
    def carrier_faults(self, error_rate: float) -> None:
        self.carriers.faults("*", error_rate=error_rate, timeout_rate=0.0, latency_ms=0)

    @rule(order_id=orders)
    def deadline_passes(self, order_id: str) -> None:
        Order.objects.filter(id=order_id, delivery_deadline__isnull=False).update(
            delivery_deadline=now() - timedelta(seconds=1)
        )

    @rule(steps=st.integers(1, 3))
    def worker_runs(self, steps: int) -> None:
        for _ in range(steps):
            Job.objects.filter(status="queued").update(run_after=now(), locked_until=None)
            for job in claim(20, lease_s=30):
                run_one(*job)

    @rule()
    def ledger_rolls_up(self) -> None:
        ledger.roll_up(batch=3, rounds=1)  # a small batch: a part folded, the rest still flagged

    @invariant()
    def ledger_balances_and_nothing_is_both_delivered_and_refunded(self) -> None:
        assert all(t.balanced for t in ledger.trial_balance())
        delivered = set(Transfer.objects.filter(code="delivery_carrier").values_list("order_id", flat=True))
        refunded = set(Transfer.objects.filter(code="refund_issued").values_list("order_id", flat=True))
        assert not delivered & refunded

    def teardown(self) -> None:
        self.carriers.faults("*", error_rate=0.0, timeout_rate=0.0, latency_ms=0)
        for _ in range(30):
            if not Job.objects.filter(status="queued").exists():
                break
            self.worker_runs(1)
        self._check_against_the_model()

    def _check_against_the_model(self) -> None:
        expected_at_carrier = dict.fromkeys(self.baseline, 0)
        captured = refunded = 0
        for order in self.model.values():
            row = Order.objects.get(id=order.id)
            self.outcomes[row.status] += 1
            paid = order.success_sent
            if not paid:
                assert row.status == "awaiting_payment", f"{order.id} moved without a payment"
                continue
            assert row.status in {"delivered", "refunded"}, f"{order.id} paid but ended {row.status}"
            captured += PRICE[order.plan]
            if row.status == "delivered":
                expected_at_carrier[order.msisdn] += PRICE[order.plan]
            else:
                refunded += PRICE[order.plan]
                assert Payment.objects.get(id=order.payment_id).status == "refunded"
            assert Transfer.objects.filter(order_id=order.id, code="payment_captured").count() == 1
        for plan, line in PURCHASES:
            held = self.carriers.balance_minor(NETWORK[plan], line) - self.baseline[line]
            assert held == expected_at_carrier[line], (
                f"{line} holds {held}, expected {expected_at_carrier[line]}"
            )
        if captured:
            assert ledger.balance_of("provider_clearing:stripe:EUR") == captured - refunded
            assert ledger.orders_holding() == {}, "money left in flight"
            # Folding the transfers into the shared accounts changes no balance.
            before = ledger.account_totals()
            ledger.roll_up()
            assert ledger.account_totals() == before


@pytest.fixture
def quiet_payments(payments_simulator: str) -> Iterator[str]:
    """A payment simulator that sends no webhooks: the machine delivers them, duplicated and out of order."""
    port = free_port()
    args = [
        "-m",
        "topup.simulators.payments",
        "--port",
        str(port),
        "--api-key",
        CONFIG.payments_api_key,
        "--webhook-url",
        "",
        "--seed",
        "3",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(args, f"{url}/healthz", log_path=_log("payments-sim-quiet")):
        point(payments=url)
        yield url
    point(payments=payments_simulator)


def test_orders_payments_webhooks_and_deliveries_in_any_order(
    seeded: None, carriers: Carriers, quiet_payments: str
) -> None:
    OrderMachine.carriers = carriers
    OrderMachine.payments_url = quiet_payments
    run = OrderMachine.TestCase
    run.settings = settings(
        max_examples=30,
        stateful_step_count=30,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    run().runTest()
    assert {"delivered", "refunded", "awaiting_payment"} <= set(OrderMachine.outcomes), OrderMachine.outcomes
