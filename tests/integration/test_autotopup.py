"""Auto top-up end to end: a card order that saves its card, the worker's runs charged off-session on the
payment simulator, the carrier simulator delivering, SMS and e-mail recorded by the test peers.

Time is walked by moving `next_run_at` (the sweep compares it with the clock); the promises under test:
one run per period whatever the sweeps, retries, restarts and replays; a failing card pauses after the
set attempts and the customer is told; the monthly cap holds; the cancel link works once and a forged one
fails; a stranger cannot read or cancel another's auto top-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.db.models import Sum

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_notifications import Inbox, RecordingSms
from tests.support.orders import owner, wait_until_paid
from tests.support.processes import free_port
from tests.support.race import at_once
from tests.support.wired import point
from topup.adapters.messaging.smtp import SmtpMailer
from topup.clock import new_id, now
from topup.db.models import (
    AutoTopup,
    AutoTopupRun,
    BundleRecord,
    Job,
    Line,
    LinePreference,
    Notification,
    Order,
    Payment,
    Transfer,
)
from topup.domain.orders import OrderStatus
from topup.services import autotopup, autotopup_runs, autotopup_sweep, notifications, peers
from topup.services.transitions import move
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)
PLAN = "proximus-credit-10"


@pytest.fixture
def wired(payments_simulator: str) -> Iterator[str]:
    """Cards by Stripe Checkout (the hosted page collects the card, as for a customer)."""
    point()
    return payments_simulator


@pytest.fixture
def told() -> Iterator[tuple[RecordingSms, Inbox]]:
    inbox, port, sms = Inbox(), free_port(), RecordingSms()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    notifications.configure(sms=sms, mailer=SmtpMailer("127.0.0.1", port, "receipts@topup.test"))
    yield sms, inbox
    notifications.configure()
    controller.stop()


def _order(http: httpx.Client, msisdn: str, plan: str = PLAN, **auto: Any) -> dict[str, Any]:
    choice = {"trigger": "periodic", "recurring_period": "monthly", "cap_per_month_minor": 5000, **auto}
    LinePreference.objects.get_or_create(
        line_ref=msisdn, defaults={"language": "nl", "email": "klant@topup.test", "updated_at": now()}
    )
    body = {
        "plan_id": plan,
        "msisdn": msisdn,
        "payment_method": "card",
        "language": "nl",
        "auto_topup": choice,
    }
    created = http.post("/api/v1/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert created.status_code == 201, created.text
    return dict(created.json())


def _active(
    http: httpx.Client, msisdn: str, plan: str = PLAN, **auto: Any
) -> tuple[dict[str, Any], AutoTopup]:
    """Place the first order, let its payment settle and deliver, and the auto top-up switch on."""
    order = _order(http, msisdn, plan, **auto)
    page = order["payment"]["checkout_url"]
    assert "/checkout/cs_" in page
    paid = httpx.post(page, data={"number": "4242 4242 4242 4242", "exp": "12 / 34", "cvc": "123"})
    assert paid.status_code == 303, paid.text
    wait_until_paid(http, order)
    autotopup_sweep.sweep()
    run_jobs_until_idle()
    found = AutoTopup.objects.get(id=order["auto_topup"]["id"])
    assert found.status == "active", found.status
    return order, found


def _work() -> None:
    """The worker's cycle until no job is due now (retries queued for later stay queued)."""
    from topup.worker import claim, run_one  # noqa: PLC0415

    while jobs := claim(50, lease_s=30):
        for job in jobs:
            run_one(*job)


def _due(found: AutoTopup, days_ago: int = 0) -> None:
    """The test clock: the next periodic run is due now (in the period of `days_ago` days back)."""
    AutoTopup.objects.filter(id=found.id).update(next_run_at=now() - timedelta(days=days_ago, seconds=1))


def admin(base_url: str) -> httpx.Client:
    """The payment simulator's `/_sim` surface (summary, the saved cards' off-session knob)."""
    return httpx.Client(
        base_url=f"{base_url}/_sim", headers={"Authorization": f"Bearer {CONFIG.payments_api_key}"}
    )


def _captured(base_url: str) -> int:
    with admin(base_url) as sim:
        return int(sim.get("/summary").json()["totals"].get("eur", {}).get("captured", 0))


def test_runs_once_per_period_through_sweeps_restarts_crashes_and_replays(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    msisdn = "+32470990001"
    _order_doc, found = _active(http, msisdn)
    assert found.card_label.endswith("4242")
    assert found.next_run_at is not None
    before, captured = carriers.balance_minor("proximus", msisdn), _captured(wired)
    _due(found)
    autotopup_sweep.sweep()
    autotopup_sweep.sweep()  # a second sweep (another worker) finds the period taken
    run = AutoTopupRun.objects.get(auto_topup=found)
    # A crash after the order was placed and before the charge: the next attempt finds that order.
    assert autotopup_runs._place(AutoTopupRun.objects.get(id=run.id)) is None
    placed = AutoTopupRun.objects.get(id=run.id)
    # A crash after the provider charged and before we recorded it: the same payment id replays that charge.
    autotopup.saved_cards().charge_off_session(autotopup_runs.charge_request(placed))
    run_jobs_until_idle()
    assert autotopup_runs.run(run.id, 9).note == "nothing to do"  # a replayed job
    _due(found, days_ago=0)  # the clock set back into the same period: the sweep finds its run
    AutoTopup.objects.filter(id=found.id).update(next_run_at=placed.created_at)
    autotopup_sweep.sweep()
    run_jobs_until_idle()
    runs = AutoTopupRun.objects.filter(auto_topup=found)
    assert [(r.state, r.order_id) for r in runs] == [("charged", placed.order_id)]
    assert Order.objects.get(id=placed.order_id).status == "delivered"
    assert Order.objects.get(id=placed.order_id).channel == "auto"
    assert carriers.balance_minor("proximus", msisdn) == before + 1000
    assert _captured(wired) == captured + 1000  # charged once
    assert Transfer.objects.filter(order_id=placed.order_id).exists()  # through the ledger
    sms, inbox = told
    charged = [text for to, text in sms.sent if to == msisdn and "/auto-topup/cancel/" in text]
    assert len(charged) == 2  # switched on, then charged: each once, in Dutch, with the cancel link
    assert "Automatisch opwaarderen staat aan" in charged[0]
    assert "Automatische opwaardering: €\xa010,00 afgeschreven van visa 4242" in charged[1]
    assert len([m for m in inbox.messages if "/auto-topup/cancel/" in str(m.get_body())]) == 2


def _body(message: Message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part else ""


def test_a_failing_card_pauses_after_the_set_attempts_and_tells_the_customer(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    msisdn = "+32470990002"
    _order_doc, found = _active(http, msisdn)
    with admin(wired) as sim:
        sim.post(
            f"/payment_methods/{found.payment_method_ref}/off_session", json={"outcome": "generic_decline"}
        )
    _due(found)
    autotopup_sweep.sweep()
    _work()
    run = AutoTopupRun.objects.get(auto_topup=found)
    assert (run.state, run.attempts) == ("retrying", 1)
    for _ in range(CONFIG.autotopup_max_attempts):  # the retries come due
        Job.objects.filter(kind=autotopup_runs.RUN_JOB, status="queued").update(run_after=now())
        _work()
    run.refresh_from_db()
    found.refresh_from_db()
    assert (run.state, run.attempts, found.status) == ("failed", CONFIG.autotopup_max_attempts, "paused")
    orders = Order.objects.filter(channel="auto")
    assert orders.count() == CONFIG.autotopup_max_attempts
    assert {o.status for o in orders} == {"cancelled"}
    assert Order.objects.filter(channel="auto").aggregate(s=Sum("total_minor"))["s"] == 3000
    sms, _inbox = told
    paused = [t for to, t in sms.sent if to == msisdn and "gepauzeerd" in t]
    assert len(paused) == 1
    assert "/auto-topup/cancel/" in paused[0]
    assert Notification.objects.filter(kind="auto_paused", channel="email", status="sent").count() == 1
    assert not Notification.objects.filter(kind="payment_failed").exists()  # told once, by auto top-up
    _due(found)
    autotopup_sweep.sweep()
    assert AutoTopupRun.objects.filter(auto_topup=found).count() == 1  # paused: nothing more runs


def test_authentication_required_pauses_at_once(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    _order_doc, found = _active(http, "+32470990003")
    with admin(wired) as sim:
        sim.post(f"/payment_methods/{found.payment_method_ref}/off_session",
                 json={"outcome": "authentication_required"})  # fmt: skip
    _due(found)
    autotopup_sweep.sweep()
    _work()
    run = AutoTopupRun.objects.get(auto_topup=found)
    assert (run.state, run.failure_code, run.attempts) == ("failed", "authentication_required", 1)
    assert AutoTopup.objects.get(id=found.id).status == "paused"


def test_the_monthly_cap_is_never_exceeded(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    """A threshold top-up (credit below €1000: always low) with a cap of €15 runs once a month, not twice."""
    http = httpx.Client(base_url=live_server.url, timeout=15)
    _order_doc, found = _active(http, "+32470990004", trigger="threshold", recurring_period=None,
                                threshold_minor=100_000, cap_per_month_minor=1500)  # fmt: skip
    opened = [autotopup_runs.open_run(found, key, now()) for key in ("credit@day-1", "credit@day-2")]
    _work()
    states = sorted(AutoTopupRun.objects.get(id=r.id).state for r in opened if r is not None)
    assert states == ["capped", "charged"]
    month = opened[0].month if opened[0] else ""
    charged = AutoTopupRun.objects.filter(auto_topup=found, month=month, state="charged")
    assert (charged.aggregate(s=Sum("amount_minor"))["s"] or 0) <= found.cap_minor


def test_the_threshold_check_reads_the_carrier_balance_and_renews_once_a_day(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    _order_doc, found = _active(http, "+32470990005", trigger="threshold", recurring_period=None,
                                threshold_minor=100_000, cap_per_month_minor=5000)  # fmt: skip
    for _ in range(2):  # two checks the same day: one run
        AutoTopup.objects.filter(id=found.id).update(next_run_at=now() - timedelta(seconds=1))
        autotopup_sweep.sweep()
        _work()
    runs = AutoTopupRun.objects.filter(auto_topup=found)
    assert [(r.period_key.startswith("credit@"), r.state) for r in runs] == [(True, "charged")]


def test_cancel_link_works_once_and_a_forged_one_fails(
    seeded: None, live_server: Any, wired: str, carriers: Carriers
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    _order_doc, found = _active(http, "+32470990006")
    token = autotopup.cancel_token(found.id)
    forged = f"{found.id}.{'A' * 43}"
    assert http.get(f"/auto-topup/cancel/{forged}").status_code == 404
    assert http.get(f"/auto-topup/cancel/atu_nothing.{token.split('.')[1]}").status_code == 404
    page = http.get(f"/auto-topup/cancel/{token}?lang=nl")
    assert page.status_code == 200
    assert "confirm-cancel" in page.text
    assert AutoTopup.objects.get(id=found.id).status == "active"  # GET only shows
    csrf = http.cookies.get("csrftoken", "")
    done = http.post(f"/auto-topup/cancel/{token}", data={"csrfmiddlewaretoken": csrf},
                     headers={"Referer": f"{live_server.url}/auto-topup/cancel/{token}"})  # fmt: skip
    assert done.status_code == 200
    assert 'id="auto-topup-cancelled"' in done.text
    assert AutoTopup.objects.get(id=found.id).status == "cancelled"
    again = http.post(f"/auto-topup/cancel/{token}", data={"csrfmiddlewaretoken": csrf},
                      headers={"Referer": f"{live_server.url}/auto-topup/cancel/{token}"})  # fmt: skip
    assert "confirm-cancel" not in again.text
    assert Job.objects.filter(kind="auto_topup_forget", subject_id=found.id).count() == 1  # once
    _work()
    _due(found)
    autotopup_sweep.sweep()
    assert not AutoTopupRun.objects.filter(auto_topup=found).exists()


def test_a_stranger_can_neither_read_nor_cancel_another_customers_auto_topup(
    seeded: None, live_server: Any, wired: str, carriers: Carriers
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    order, found = _active(http, "+32470990007")
    stranger = httpx.Client(base_url=live_server.url, timeout=15)
    other = _order(stranger, "+32470990008")  # the stranger's own order and token
    for client, headers in (
        (stranger, {}),
        (stranger, owner(other)),
        (stranger, {"X-Order-Token": "x" * 43}),
    ):
        assert client.get(f"/api/v1/auto-topups/{found.id}", headers=headers).status_code == 404
        gone = client.delete(f"/api/v1/auto-topups/{found.id}", headers=headers)
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "auto_topup_not_found"
    assert AutoTopup.objects.get(id=found.id).status == "active"
    mine = http.get(f"/api/v1/auto-topups/{found.id}", headers=owner(order))
    assert mine.status_code == 200
    assert mine.json()["recurring_period"] == "monthly"
    assert mine.json()["is_auto_topup"] is True
    cancelled = http.delete(f"/api/v1/auto-topups/{found.id}", headers=owner(order))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


def test_only_a_card_can_set_up_auto_topup_and_bad_choices_change_nothing(
    seeded: None, live_server: Any, wired: str
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    base = {"plan_id": PLAN, "msisdn": "+32470990009", "language": "fr"}
    weekly = {"trigger": "periodic", "recurring_period": "weekly", "cap_per_month_minor": 5000}
    cases = [
        ({"payment_method": "bancontact", "auto_topup": weekly}, "auto_topup_card_only"),
        (
            {"payment_method": "card", "auto_topup": {**weekly, "recurring_period": None}},
            "auto_topup_invalid",
        ),
        (
            {"payment_method": "card", "auto_topup": {**weekly, "cap_per_month_minor": 500}},
            "auto_topup_cap_too_low",
        ),
    ]
    for extra, code in cases:
        answer = http.post(
            "/api/v1/orders", json={**base, **extra}, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == code
    assert not Order.objects.exists()
    assert not AutoTopup.objects.exists()
    assert peers.current().saved_cards is not None


def test_racing_sweeps_and_workers_renew_once(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    """Four sweeps at once open one run; four workers running it at once place one order and charge once."""
    http = httpx.Client(base_url=live_server.url, timeout=15)
    _order_doc, found = _active(http, "+32470990010")
    captured = _captured(wired)
    found.refresh_from_db()
    assert found.next_run_at is not None
    key = "2026-race"
    opened = at_once(lambda _i: "opened" if autotopup_runs.open_run(found, key, now()) else "taken", range(4))
    assert sorted(opened) == ["opened", "taken", "taken", "taken"]
    run = AutoTopupRun.objects.get(auto_topup=found)
    outcomes = at_once(lambda i: autotopup_runs.run(f"{run.id}#{i}", 1).note, range(4))
    _work()
    run.refresh_from_db()
    assert run.state == "charged", outcomes
    assert Order.objects.filter(channel="auto").count() == 1
    assert _captured(wired) == captured + 1000


def test_a_reminder_goes_a_day_before_each_periodic_charge_once(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    msisdn = "+32470990011"
    _order_doc, found = _active(http, msisdn)
    sms, _inbox = told
    AutoTopup.objects.filter(id=found.id).update(next_run_at=now() + timedelta(hours=30))
    autotopup_sweep.sweep()
    _work()
    assert not [t for to, t in sms.sent if to == msisdn and "Herinnering" in t]  # not yet: more than a day
    AutoTopup.objects.filter(id=found.id).update(next_run_at=now() + timedelta(hours=12))
    for _ in range(2):
        autotopup_sweep.sweep()
        _work()
    reminders = [t for to, t in sms.sent if to == msisdn and "Herinnering" in t]
    assert len(reminders) == 1
    assert "/auto-topup/cancel/" in reminders[0]
    assert not AutoTopupRun.objects.filter(auto_topup=found).exists()  # a reminder charges nothing


def _saved_card_at_sim(base_url: str) -> tuple[str, str]:
    """A customer and a card saved to it at the simulator, as a first payment leaves them."""
    auth = {"Authorization": f"Bearer {CONFIG.payments_api_key}"}
    customer = httpx.post(f"{base_url}/v1/customers", data={}, headers=auth).json()["id"]
    intent = httpx.post(f"{base_url}/v1/payment_intents", headers=auth, data={
        "amount": "100", "currency": "eur", "customer": customer, "payment_method": "pm_card_visa",
        "setup_future_usage": "off_session", "confirm": "true",
    }).json()  # fmt: skip
    return customer, str(intent["payment_method"])


def test_an_esim_bundle_nearly_used_up_is_renewed_once_with_the_same_plan(
    seeded: None, live_server: Any, wired: str, told: tuple[RecordingSms, Inbox]
) -> None:
    """A hosted line: its bundle below 10 % opens one run (keyed by the bundle), delivered as a new bundle."""
    at = now()
    line = Line.objects.create(
        id=new_id("ln"), network_id="topup-esim", iccid="8932990000000000982", msisdn="+32471000181",
        language="fr", created_at=at, updated_at=at,
    )  # fmt: skip
    bundle = BundleRecord.objects.create(
        id=new_id("bdl"), line=line, plan_id="esim-7d-5gb", data_kb=5 * 1024 * 1024, used_kb=4_800_000,
        validity_days=7, purchased_at=at, starts_at=at, expires_at=at + timedelta(days=5), status="active",
    )  # fmt: skip
    origin = Order.objects.create(
        id=new_id("ord"), plan_id="esim-7d-5gb", network_id="topup-esim", msisdn="", line=line,
        channel="web", language="fr", status="delivered", total_minor=1500, currency="EUR", quote={},
        created_at=at, updated_at=at,
    )  # fmt: skip
    customer, method = _saved_card_at_sim(wired)
    found = AutoTopup.objects.create(
        id=new_id("atu"), origin=origin, line=line, plan_id="esim-7d-5gb", trigger="threshold",
        cap_minor=10_000, provider="stripe", customer_ref=customer, payment_method_ref=method,
        status="active", next_run_at=at, cancel_token_hash="-", created_at=at, updated_at=at,
    )  # fmt: skip
    for _ in range(2):  # two checks: the same bundle is renewed once
        AutoTopup.objects.filter(id=found.id).update(next_run_at=now() - timedelta(seconds=1))
        autotopup_sweep.sweep()
        _work()
    run = AutoTopupRun.objects.get(auto_topup=found)
    assert (run.period_key, run.state) == (f"bundle:{bundle.id}", "charged")
    renewal = Order.objects.get(id=run.order_id)
    assert (renewal.line_id, renewal.plan_id, renewal.status) == (line.id, "esim-7d-5gb", "delivered")
    renewed = BundleRecord.objects.filter(line=line, order_id=renewal.id).get()  # waits for its first use
    assert (renewed.plan_id, renewed.data_kb, renewed.status) == ("esim-7d-5gb", 5 * 1024 * 1024, "pending")
    sms, _inbox = told
    assert any("Recharge automatique" in text for to, text in sms.sent if to == line.msisdn)


def test_number_of_periods_ends_the_auto_topup(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    _order_doc, found = _active(http, "+32470990012", recurring_period="weekly", number_of_periods=1)
    _due(found)
    autotopup_sweep.sweep()
    _work()
    AutoTopup.objects.filter(id=found.id).update(next_run_at=now() - timedelta(seconds=1))
    autotopup_sweep.sweep()
    found.refresh_from_db()
    assert found.status == "cancelled"
    assert AutoTopupRun.objects.filter(auto_topup=found).count() == 1


def test_staff_see_auto_topups_and_their_runs_read_only_in_their_language(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    from tests.integration.test_backoffice import staff  # noqa: PLC0415

    http = httpx.Client(base_url=live_server.url, timeout=15)
    _order_doc, found = _active(http, "+32470990013")
    client = staff(superuser=True)
    listing = client.get("/admin/topup/autotopup/", headers={"accept-language": "nl-BE"}).content.decode()
    assert found.id in listing
    assert "50,00" in listing  # the cap, as money in the reader's language
    detail = client.get(f"/admin/topup/autotopup/{found.id}/change/", headers={"accept-language": "fr"})
    assert detail.status_code == 200
    assert found.cancel_token_hash not in detail.content.decode()
    assert client.post(f"/admin/topup/autotopup/{found.id}/delete/").status_code == 403


def test_an_operators_bundle_below_ten_percent_is_renewed_once(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    """An external line: the carrier reports its bundle; below 10 % of its data, the same plan is bought."""
    http = httpx.Client(base_url=live_server.url, timeout=15)
    msisdn = "+32470990014"
    _order_doc, found = _active(http, msisdn, "proximus-data-7d-5gb", trigger="threshold",
                                recurring_period=None, cap_per_month_minor=5000)  # fmt: skip
    AutoTopup.objects.filter(id=found.id).update(next_run_at=now() - timedelta(seconds=1))
    autotopup_sweep.sweep()
    _work()
    assert not AutoTopupRun.objects.filter(auto_topup=found).exists()  # 5 GB left: nothing to do
    carriers.http.post("/v1/admin/usage", json={"network": "proximus", "msisdn": msisdn, "data_mb": 4700})
    for _ in range(2):
        AutoTopup.objects.filter(id=found.id).update(next_run_at=now() - timedelta(seconds=1))
        autotopup_sweep.sweep()
        _work()
    [run] = AutoTopupRun.objects.filter(auto_topup=found)
    assert run.period_key.startswith("bundle:PX-DATA-5GB-7D@")
    assert run.state == "charged"
    assert Order.objects.get(id=run.order_id).status == "delivered"
    bundles = carriers.http.get(f"/v1/networks/proximus/lines/{msisdn}/balance").json()["bundles"]
    assert len(bundles) == 2


def test_a_charge_that_lands_after_its_order_expired_is_refunded_and_the_period_tried_again(
    seeded: None, live_server: Any, wired: str, carriers: Carriers, told: tuple[RecordingSms, Inbox]
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=15)
    msisdn = "+32470990015"
    _order_doc, found = _active(http, msisdn)
    before = carriers.balance_minor("proximus", msisdn)
    _due(found)
    autotopup_sweep.sweep()
    run = AutoTopupRun.objects.get(auto_topup=found)
    assert autotopup_runs._place(run) is None
    run.refresh_from_db()
    first = Order.objects.get(id=run.order_id)
    with transaction.atomic():  # the unpaid-order sweep got there first (a long provider outage)
        move(first, OrderStatus.EXPIRED, at=now(), code="payment_timeout")
    _work()
    run.refresh_from_db()
    assert (run.state, run.attempts, run.failure_code) == ("retrying", 1, "order_expired")
    assert Payment.objects.get(order_id=first.id).refund_status != ""  # the late success goes back
    Job.objects.filter(kind=autotopup_runs.RUN_JOB, status="queued").update(run_after=now())
    _work()
    run.refresh_from_db()
    assert run.state == "charged"
    assert Order.objects.get(id=run.order_id).status == "delivered"
    assert carriers.balance_minor("proximus", msisdn) == before + 1000  # delivered once
