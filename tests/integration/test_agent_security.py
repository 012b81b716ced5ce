"""The agent console's doors: every page needs both factors, TOTP codes work once, repeated failures lock
the account (even against the right password), roles keep agents out of supervisors' pages, CSRF."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.agents import Agent, make_agent, signed_in
from topup.db.models import AgentProfile, AuditEntry

pytestmark = pytest.mark.django_db

PAGES = [
    "/agent/",
    "/agent/customer",
    "/agent/orders/ord_x",
    "/agent/requests",
    "/agent/approvals",
    "/agent/audit",
]
POSTS = [
    "/agent/",
    "/agent/customer/note",
    "/agent/customer/sell",
    "/agent/customer/goodwill",
    "/agent/orders/ord_x/refund",
    "/agent/orders/ord_x/resend",
    "/agent/approvals/req_x",
]


@pytest.fixture
def alice() -> Agent:
    return make_agent("alice", "agent", "25.00")


@pytest.fixture
def sam() -> Agent:
    return make_agent("sam", "supervisor", "100.00")


def _to_sign_in(answer: object) -> bool:
    return getattr(answer, "status_code", 0) == 302 and str(answer["Location"]).endswith("/agent/sign-in")  # type: ignore[index]


def test_every_page_without_sign_in_goes_to_sign_in() -> None:
    client = Client()
    for url in PAGES:
        assert _to_sign_in(client.get(url)), url
    for url in POSTS:
        assert _to_sign_in(client.post(url, {"q": "0470123456", "text": "x"})), url


def test_a_password_alone_opens_nothing(alice: Agent) -> None:
    client = Client()
    answer = client.post("/agent/sign-in", {"username": "alice", "password": alice.password})
    assert answer.status_code == 302
    for url in PAGES:
        assert _to_sign_in(client.get(url)), url
    assert _to_sign_in(client.post("/agent/", {"q": "0470123456"}))
    assert not AuditEntry.objects.filter(action="search").exists()


def test_both_factors_open_the_console_and_sign_out_closes_it(alice: Agent) -> None:
    client = signed_in(alice)
    assert client.get("/agent/").status_code == 200
    assert client.post("/agent/sign-out").status_code == 302
    assert _to_sign_in(client.get("/agent/"))
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions[-2:] == ["signed_in", "signed_out"]


def test_a_totp_code_works_once(alice: Agent) -> None:
    code = alice.code()
    signed_in(alice, code=code)
    replay = Client()
    replay.post("/agent/sign-in", {"username": "alice", "password": alice.password})
    answer = replay.post("/agent/sign-in/code", {"code": code})
    assert answer.status_code == 400
    assert _to_sign_in(replay.get("/agent/"))
    assert AuditEntry.objects.filter(action="totp_failed").count() == 1


def test_five_failures_lock_the_account_even_for_the_right_password(alice: Agent) -> None:
    client = Client()
    for _ in range(5):
        assert client.post("/agent/sign-in", {"username": "alice", "password": "wrong"}).status_code == 400
    profile = AgentProfile.objects.get(user__username="alice")
    assert profile.locked_until is not None
    answer = client.post("/agent/sign-in", {"username": "alice", "password": alice.password})
    assert answer.status_code == 400
    assert "locked" in answer.content.decode()
    assert _to_sign_in(client.get("/agent/"))
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count("sign_in_failed") == 5
    assert "locked_out" in actions
    assert actions[-1] == "sign_in_refused_locked"


def test_wrong_totp_codes_count_towards_the_lock(alice: Agent) -> None:
    client = Client()
    client.post("/agent/sign-in", {"username": "alice", "password": alice.password})
    for _ in range(5):
        client.post("/agent/sign-in/code", {"code": "000000" if alice.code() != "000000" else "111111"})
    assert AgentProfile.objects.get(user__username="alice").locked_until is not None
    assert client.post("/agent/sign-in/code", {"code": alice.code()}).status_code in (302, 400)
    assert _to_sign_in(client.get("/agent/"))


def test_an_agent_cannot_reach_supervisor_pages(alice: Agent) -> None:
    client = signed_in(alice)
    assert client.get("/agent/approvals").status_code == 403
    assert client.post("/agent/approvals/req_x", {"decision": "approve"}).status_code == 403
    assert AuditEntry.objects.filter(action="forbidden", actor="alice").count() == 2


def test_a_supervisor_reaches_them(sam: Agent) -> None:
    client = signed_in(sam)
    assert client.get("/agent/approvals").status_code == 200


def test_forms_without_csrf_are_refused(alice: Agent) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/agent/sign-in", {"username": "alice", "password": alice.password}).status_code == 403
    strict.get("/agent/sign-in")  # the CSRF cookie
    token = strict.cookies["csrftoken"].value
    answer = strict.post(
        "/agent/sign-in", {"username": "alice", "password": alice.password, "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302
    answer = strict.post("/agent/sign-in/code", {"code": alice.code(), "csrfmiddlewaretoken": token})
    assert answer.status_code == 302
    assert strict.post("/agent/customer/note", {"text": "hello"}).status_code == 403
    assert strict.post("/agent/", {"q": "0470123456"}).status_code == 403
    assert not AuditEntry.objects.filter(action="search").exists()


def test_an_idle_session_ends(alice: Agent, settings: object) -> None:
    client = signed_in(alice)
    session = client.session
    session["agent_seen_at"] = 0
    session.save()
    assert _to_sign_in(client.get("/agent/"))
    assert AuditEntry.objects.filter(action="session_expired").exists()
