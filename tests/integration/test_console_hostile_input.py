"""The agent console and the kiosk given hostile input by someone who got in (a signed-in agent, an enrolled
kiosk): every form and query answers without a 500 and moves no money."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.agents import audit_flushable, make_agent, signed_in  # noqa: F401 - a fixture
from tests.support.kiosk import enrolled_browser, make_shop
from topup.db.models import Order, Sale

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("audit_flushable")]
JUNK = [
    "",
    "\u0000",
    "x" * 5000,
    "-1",
    "1e309",
    "NaN",
    "\uff10\uff14\uff17\uff10 12",
    "'; DROP TABLE orders;--",
    "<script>",
]


def _answered(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:300])


def test_the_agent_console_answers_any_form_without_a_500(seeded: None) -> None:
    agent = signed_in(make_agent("alice", "agent", "25.00"))
    for junk in JUNK:
        _answered(agent.post("/agent/", {"q": junk}))
        _answered(agent.get("/agent/customer", {"ref": junk, "q": junk}))
        _answered(agent.get(f"/agent/orders/{junk[:100] or 'x'}"))
        agent.post("/agent/", {"q": "0470 12 34 56"})  # a real customer: the forms below are theirs
        for path in ("/agent/customer/note", "/agent/customer/sell", "/agent/customer/goodwill"):
            fields = (
                "ref",
                "text",
                "plan_id",
                "payment",
                "amount",
                "reason",
                "document_type",
                "document_last4",
            )
            form = dict.fromkeys((*fields, "attempt", "kind"), junk)
            _answered(agent.post(path, form))
        _answered(agent.post("/agent/orders/ord_x/refund", {"amount": junk, "reason": junk}))
        _answered(agent.post("/agent/approvals/req_x", {"decision": junk}))
    assert Order.objects.count() == 0


def test_the_kiosk_answers_any_touch_without_a_500(seeded: None) -> None:
    kiosk = enrolled_browser(make_shop().terminal_id)
    for junk in JUNK:
        _answered(kiosk.post("/kiosk/language", {"language": junk}))
        _answered(kiosk.post("/kiosk/number", {"msisdn": junk}))
        _answered(kiosk.post("/kiosk/number", {"msisdn": "0470 12 34 56"}))
        _answered(kiosk.post("/kiosk/plans", {"network": junk}))
        _answered(kiosk.post("/kiosk/plans", {"plan_id": junk}))
        for path in ("/kiosk/cash/start", "/kiosk/cash/cancel", "/kiosk/card/start", "/kiosk/card/cancel"):
            _answered(kiosk.post(path, {"session_id": junk, "attempt": junk}))
        _answered(kiosk.get("/kiosk/cash/status", {"session_id": junk}))
        _answered(kiosk.get("/kiosk/card/status", {"order_id": junk}))
    assert Sale.objects.count() == 0
