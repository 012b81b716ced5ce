"""The agent console end to end with the SM-DP+ and payment simulators: find a customer by any way of
writing their number, sell a new eSIM for cash with its identity check, show its QR code, refund it above
the agent's limit only after a supervisor approves (cash back out of the drawer, the ledger balanced),
goodwill credit, a payment link sent by SMS, and resending a receipt."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.test import Client

from tests.integration.conftest import run_jobs_until_idle
from tests.support.agents import Agent, audit_flushable, make_agent, signed_in  # noqa: F401 - a fixture
from topup.clock import now
from topup.db import ledger
from topup.db.models import AgentNote, AgentRequest, AgentSale, AuditEntry, IdentityCheck, Job, Line, Order
from topup.services import agent_audit, agent_receipts, notifications, privacy

pytestmark = pytest.mark.usefixtures("audit_flushable")

DRAWER = "cash_drawer:desk1:EUR"


@pytest.fixture
def world(seeded: None, live_server: Any, smdp_simulator: str) -> tuple[Agent, Agent]:
    return make_agent("alice", "agent", "25.00"), make_agent("sam", "supervisor", "100.00")


def _find(client: Client, text: str) -> None:
    answer = client.post("/agent/", {"q": text})
    assert answer.status_code == 302, answer.content[:300]
    assert answer["Location"].endswith("/agent/customer"), answer.content[:300]


def _sell_esim(client: Client, plan_id: str, last4: str = "1234", attempt: str = "") -> Any:
    form = {
        "kind": "esim",
        "plan_id": plan_id,
        "pay": "cash",
        "document_type": "eid",
        "document_last4": last4,
    }
    return client.post("/agent/customer/sell", {**form, "attempt": attempt or secrets.token_hex(8)})


def _order_id(answer: Any) -> str:
    assert answer.status_code == 302, answer.content[:500]
    return str(answer["Location"]).rsplit("/", 1)[1]


def _esim_line_found(client: Client, plan_id: str) -> Line:
    """Sell a new eSIM for cash, deliver it, and make its line the customer on screen (found by ICCID)."""
    _find(client, "0470123456")
    order_id = _order_id(_sell_esim(client, plan_id))
    run_jobs_until_idle()
    line = Line.objects.get(orders__id=order_id)
    _find(client, line.iccid)
    return line


def _balanced() -> None:
    for totals in ledger.trial_balance():
        assert totals.balanced, totals


@pytest.mark.parametrize("written", ["0470 12 34 56", "+32470123456", "0032 470 12 34 56", "470123456"])
def test_one_customer_whatever_way_the_number_is_written(world: tuple[Agent, Agent], written: str) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470 12 34 56")
    order_id = _order_id(_sell_esim(client, "esim-1d-1gb"))
    _find(client, written)
    page = client.get("/agent/customer").content.decode()
    assert order_id[-8:] in page
    assert "+32470123456" not in page  # masked
    assert "+32 470 •• •• 56" in page


def test_cash_esim_sale_then_refund_above_the_limit_after_approval(world: tuple[Agent, Agent]) -> None:
    alice, sam = world
    client = signed_in(alice)
    _find(client, "0470 12 34 56")
    order_id = _order_id(_sell_esim(client, "esim-30d-unlimited"))  # 34.99 > alice's 25.00
    check = IdentityCheck.objects.get(order_id=order_id)
    assert (check.document_type, check.document_last4, check.checked_by.username) == ("eid", "1234", "alice")
    assert ledger.balance_of(DRAWER) == 3499
    run_jobs_until_idle()
    order = Order.objects.get(id=order_id)
    assert (order.status, order.channel) == ("delivered", "agent")
    page = client.get(f"/agent/orders/{order_id}").content.decode()
    assert "<svg" in page
    assert order.line is not None
    assert order.line.activation_code in page

    assert client.post(f"/agent/orders/{order_id}/refund", {"reason": "wrong phone"}).status_code == 302
    request = AgentRequest.objects.get(order_id=order_id)
    assert request.status == "pending"
    assert client.post(f"/agent/approvals/{request.id}", {"decision": "approve"}).status_code == 403
    assert Order.objects.get(id=order_id).status == "delivered"

    boss = signed_in(sam)
    assert order_id[-8:] in boss.get("/agent/approvals").content.decode()
    assert boss.post(f"/agent/approvals/{request.id}", {"decision": "approve"}).status_code == 302
    assert boss.post(f"/agent/approvals/{request.id}", {"decision": "approve"}).status_code == 409
    run_jobs_until_idle()
    request.refresh_from_db()
    assert (request.status, request.outcome, request.decided_by.username) == (
        "executed",
        "refund_queued",
        "sam",
    )
    assert Order.objects.get(id=order_id).status == "refunded"
    assert ledger.balance_of(DRAWER) == 0  # the cash went back out of the drawer
    _balanced()
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    for step in (
        "search",
        "sale_cash",
        "identity_check",
        "refund_requested",
        "refund_approved",
        "refund_executed",
    ):
        assert step in actions
    assert agent_audit.verify() == (len(actions), None)
    audit_page = boss.get("/agent/audit").content.decode()
    assert "refund_approved" in audit_page
    assert "sale_cash" in audit_page


def test_a_refund_within_the_limit_executes_at_once(world: tuple[Agent, Agent]) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470123456")
    order_id = _order_id(_sell_esim(client, "esim-1d-1gb"))
    run_jobs_until_idle()
    page = client.get(f"/agent/orders/{order_id}").content.decode()
    assert 'id="receipt"' in page
    assert order_id in page
    pdf = client.get(f"/agent/orders/{order_id}/receipt.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    client.post(f"/agent/orders/{order_id}/refund", {"reason": "changed mind"})
    assert client.post(f"/agent/orders/{order_id}/refund", {"reason": "again"}).status_code == 400
    run_jobs_until_idle()
    assert AgentRequest.objects.get(order_id=order_id).status == "executed"
    assert Order.objects.get(id=order_id).status == "refunded"
    assert ledger.balance_of(DRAWER) == 0
    returned = agent_receipts.counter_receipt(order_id)
    assert (returned.kind.value, returned.reason) == ("refund", "changed mind")
    assert AuditEntry.objects.filter(action="print_receipt", subject=order_id).count() == 1


def test_the_identity_check_keeps_four_characters_and_nothing_else(world: tuple[Agent, Agent]) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470123456")
    for refused in ("591123456789", "12345", "", "12"):
        answer = _sell_esim(client, "esim-1d-1gb", last4=refused)
        assert answer.status_code == 400, refused
    assert not Order.objects.exists()
    assert not IdentityCheck.objects.exists()
    no_check = client.post("/agent/customer/sell", {"kind": "esim", "plan_id": "esim-1d-1gb", "pay": "cash"})
    assert no_check.status_code == 400
    assert not Order.objects.exists()
    _order_id(_sell_esim(client, "esim-1d-1gb", last4="9876"))
    fields = {f.name for f in IdentityCheck._meta.get_fields()}
    assert fields == {
        "id",
        "order",
        "document_type",
        "document_last4",
        "nationality",
        "checked_by",
        "checked_at",
    }


def test_goodwill_credit_on_a_hosted_line(world: tuple[Agent, Agent]) -> None:
    alice, _sam = world
    client = signed_in(alice)
    line = _esim_line_found(client, "esim-1d-1gb")
    assert client.post("/agent/customer/goodwill", {"amount": "5.00", "reason": "outage"}).status_code == 302
    line.refresh_from_db()
    assert line.credit_minor == 500
    assert ledger.balance_of(f"line_credit:{line.id.lower()}:EUR") == 500
    _balanced()
    big = client.post("/agent/customer/goodwill", {"amount": "30.00", "reason": "big outage"})
    assert big.status_code == 302
    assert AgentRequest.objects.filter(kind="goodwill", status="pending").count() == 1
    line.refresh_from_db()
    assert line.credit_minor == 500  # waits for a supervisor


def test_a_payment_link_by_sms_and_a_resent_receipt(
    world: tuple[Agent, Agent], payments_simulator: str
) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470 12 34 56")
    answer = client.post(
        "/agent/customer/sell",
        {"kind": "topup", "plan_id": "proximus-credit-10", "pay": "link", "attempt": "a1"},
    )
    order_id = _order_id(answer)
    order = Order.objects.get(id=order_id)
    assert (order.status, order.channel) == ("awaiting_payment", "agent")
    assert Job.objects.filter(kind="notify", subject_id=f"pay_link:{order_id}").exists()
    message = notifications.render("pay_link", order_id)
    assert message is not None
    assert message.sms_to == "+32470123456"
    assert f"/orders/{order_id}?token=" in message.text

    esim_order = _order_id(_sell_esim(client, "esim-1d-1gb"))
    run_jobs_until_idle()
    assert client.post(f"/agent/orders/{esim_order}/resend").status_code == 302
    assert client.post(f"/agent/orders/{esim_order}/resend").status_code == 302
    resent = Job.objects.filter(subject_id__startswith=f"receipt:{esim_order}#").count()
    assert resent == 2
    receipt = notifications.render("receipt", f"{esim_order}#1")
    assert receipt is not None
    assert receipt.sms_to == "+32470123456"  # the new eSIM's receipt goes to the number it was sold to
    sent = client.post(f"/agent/orders/{esim_order}/resend", {"kind": "esim_code"})
    assert sent.status_code == 302
    code = notifications.render("esim_code", f"{esim_order}#1")
    line = Line.objects.get(orders__id=esim_order)
    assert code is not None
    assert code.sms_to == "+32470123456"
    assert line.activation_code in code.text
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"resend_receipt", "resend_esim_code", "sale_link"} <= actions


def test_goodwill_on_another_networks_number_is_a_free_top_up(
    world: tuple[Agent, Agent], carriers: object
) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470 12 34 56")
    refused = client.post("/agent/customer/goodwill", {"amount": "7.00", "reason": "outage"})
    assert refused.status_code == 400
    assert not AgentRequest.objects.exists()
    assert client.post("/agent/customer/goodwill", {"amount": "5.00", "reason": "outage"}).status_code == 302
    request = AgentRequest.objects.get()
    assert (request.status, request.outcome, request.plan_id) == (
        "executed",
        "topup_queued",
        "proximus-credit-5",
    )
    run_jobs_until_idle()
    order = Order.objects.get(id=request.order_id)
    assert (order.status, order.channel, order.msisdn) == ("delivered", "agent", "+32470123456")
    assert order.payments.get().provider == "goodwill"
    assert ledger.balance_of("goodwill_expense:EUR") == 500
    assert ledger.balance_of("provider_clearing:goodwill:EUR") == 0
    _balanced()


def test_erasure_reaches_what_the_console_kept(world: tuple[Agent, Agent], payments_simulator: str) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470 12 34 56")
    client.post("/agent/customer/note", {"text": "speaks Mandarin, call after 18:00"})
    answer = client.post(
        "/agent/customer/sell",
        {"kind": "topup", "plan_id": "proximus-credit-10", "pay": "link", "attempt": "e1"},
    )
    order_id = _order_id(answer)
    counts = privacy.erase(privacy.Person.find(msisdn="+32470123456"), now())
    assert (counts["agent_sales"], counts["agent_notes"]) == (1, 1)
    kept = AgentSale.objects.get(order_id=order_id)
    assert (kept.msisdn, kept.pay_link) == ("", "")
    assert AgentNote.objects.get().text == ""
    assert notifications.render("pay_link", order_id) is None


def test_a_sale_form_sent_twice_makes_one_sale(world: tuple[Agent, Agent]) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470123456")
    first = _order_id(_sell_esim(client, "esim-1d-1gb", attempt="same-form"))
    again = _order_id(_sell_esim(client, "esim-1d-1gb", attempt="same-form"))
    assert first == again
    assert Order.objects.count() == 1
    assert ledger.balance_of(DRAWER) == 299
    missing = client.post(
        "/agent/customer/sell", {"kind": "topup", "plan_id": "proximus-credit-5", "pay": "cash"}
    )
    assert missing.status_code == 400
    assert Order.objects.count() == 1


def test_nobody_approves_their_own_request(world: tuple[Agent, Agent]) -> None:
    _alice, sam = world
    boss = signed_in(sam)
    line = _esim_line_found(boss, "esim-30d-unlimited")
    boss.post("/agent/customer/goodwill", {"amount": "150.00", "reason": "big outage"})  # sam's limit: 100
    request = AgentRequest.objects.get(kind="goodwill")
    assert request.status == "pending"
    refused = boss.post(f"/agent/approvals/{request.id}", {"decision": "approve"})
    assert refused.status_code == 409
    request.refresh_from_db()
    line.refresh_from_db()
    assert (request.status, line.credit_minor) == ("pending", 0)


def test_search_by_order_id_finds_the_customer(world: tuple[Agent, Agent]) -> None:
    alice, _sam = world
    client = signed_in(alice)
    _find(client, "0470 12 34 56")
    order_id = _order_id(_sell_esim(client, "esim-1d-1gb"))
    other = signed_in(make_agent("bob", "agent", "10.00"))
    _find(other, order_id)
    assert "+32 470 •• •• 56" in other.get("/agent/customer").content.decode()
    unknown = other.post("/agent/", {"q": "ord_01m0000000000000000000000x"})
    assert unknown.status_code == 400


def test_an_esim_line_found_by_iccid_is_topped_up_for_cash(world: tuple[Agent, Agent]) -> None:
    alice, _sam = world
    client = signed_in(alice)
    line = _esim_line_found(client, "esim-1d-1gb")
    page = client.get("/agent/customer").content.decode()
    assert 'value="esim-7d-5gb"' in page
    assert 'value="link"' not in page.split('id="esim-form"')[0]  # no SMS link without a number
    answer = client.post(
        "/agent/customer/sell", {"kind": "topup", "plan_id": "esim-7d-5gb", "pay": "cash", "attempt": "t1"}
    )
    order = Order.objects.get(id=_order_id(answer))
    run_jobs_until_idle()
    order.refresh_from_db()
    assert (order.status, order.line_id) == ("delivered", line.id)
    assert ledger.balance_of(DRAWER) == 299 + 999
