"""The audit log is append-only on SQLite and PostgreSQL alike: UPDATE and DELETE through the ORM and in
raw SQL are refused by the database; a row changed behind the triggers' back breaks the hash chain; two
supervisors racing to approve one request (and concurrent audit writers) leave one approval and one
unbroken chain (PostgreSQL: SQLite serialises writers, so there is no race to lose)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from tests.support.agents import audit_flushable, make_agent  # noqa: F401 - a fixture
from topup.db.models import AgentRequest, AuditEntry
from topup.domain.agents import Role
from topup.domain.errors import Conflict
from topup.services import agent_audit, agent_requests
from topup.services.agent_audit import Actor

pytestmark = pytest.mark.usefixtures("audit_flushable")


def _rows() -> list[AuditEntry]:
    for n in range(3):
        agent_audit.record(Actor(None, "alice"), "search", f"+32 470 •• •• 5{n}")
    return list(AuditEntry.objects.order_by("id"))


def _together(actions: list[Callable[[], None]]) -> None:
    """Run each action in its own thread (each with its own database connection) and wait for all."""
    threads = [threading.Thread(target=action) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _refused(action: object) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        action()  # type: ignore[operator]


def test_update_and_delete_are_refused_by_the_database() -> None:
    rows = _rows()
    first = rows[0]
    first.detail = "changed"
    _refused(first.save)
    _refused(lambda: AuditEntry.objects.filter(id=first.id).update(detail="changed"))
    _refused(lambda: AuditEntry.objects.filter(id=first.id).delete())
    _refused(lambda: AuditEntry.objects.all().delete())
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute("UPDATE agent_audit SET actor = 'mallory'"))
        _refused(lambda: cursor.execute("DELETE FROM agent_audit WHERE id = %s", [first.id]))
    assert AuditEntry.objects.count() == 3
    assert AuditEntry.objects.get(id=first.id).detail == ""
    assert agent_audit.verify() == (3, None)


def test_a_row_changed_behind_the_triggers_breaks_the_chain() -> None:
    rows = _rows()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE agent_audit DISABLE TRIGGER agent_audit_append_only")
        else:
            cursor.execute("DROP TRIGGER agent_audit_no_update")
        cursor.execute("UPDATE agent_audit SET actor = 'mallory' WHERE id = %s", [rows[1].id])
        assert agent_audit.verify() == (3, rows[1].id)
        transaction.set_rollback(True)  # the trigger comes back with the rollback
    assert agent_audit.verify() == (3, None)


def test_racing_supervisors_approve_once_and_the_chain_holds() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers (IMMEDIATE transactions): the race needs PostgreSQL")
    make_agent("alice", "agent", "10.00")
    bosses = [make_agent(f"boss{n}", "supervisor", "100.00") for n in range(4)]
    from django.contrib.auth.models import User  # noqa: PLC0415

    alice = User.objects.get(username="alice")
    request = AgentRequest.objects.create(
        id="req_race", kind="goodwill", status="pending", customer_index="x", amount_minor=5000,
        requested_by=alice, created_at=AuditEntry.objects.first().at,  # type: ignore[union-attr]
    )  # fmt: skip
    outcomes: list[str] = []
    barrier = threading.Barrier(len(bosses))

    def approve(username: str) -> None:
        user = User.objects.get(username=username)
        barrier.wait()
        try:
            agent_requests.decide(Actor(user.id, username), Role.SUPERVISOR, request.id, approve=True)
            outcomes.append("approved")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    _together([lambda name=b.username: approve(name) for b in bosses])
    assert sorted(outcomes) == ["already_decided"] * 3 + ["approved"]
    request.refresh_from_db()
    assert request.status == "failed"  # approved once, then executed once: goodwill needs a hosted line
    assert AuditEntry.objects.filter(action="goodwill_approved").count() == 1
    assert (
        AuditEntry.objects.filter(action__startswith="goodwill_").exclude(action="goodwill_approved").count()
        == 1
    )
    count, broken = agent_audit.verify()
    assert broken is None
    assert count == AuditEntry.objects.count()


def test_concurrent_writers_keep_one_chain() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL")
    barrier = threading.Barrier(6)

    def write(n: int) -> None:
        barrier.wait()
        try:
            for k in range(5):
                agent_audit.record(Actor(None, f"w{n}"), "search", str(k))
        finally:
            connection.close()

    _together([lambda n=n: write(n) for n in range(6)])
    assert agent_audit.verify() == (30, None)


def test_parallel_wrong_passwords_all_count_and_lock_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL")
    from topup.db.models import AgentProfile  # noqa: PLC0415
    from topup.services import agent_auth  # noqa: PLC0415

    agent = make_agent("alice", "agent", "10.00")
    barrier = threading.Barrier(8)
    refusals: list[str] = []

    def guess() -> None:
        barrier.wait()
        try:
            agent_auth.check_password("alice", "wrong")
        except agent_auth.SignInRefused as exc:
            refusals.append(exc.code)
        finally:
            connection.close()

    _together([guess] * 8)
    assert len(refusals) == 8
    assert AuditEntry.objects.filter(action__in=["sign_in_failed", "sign_in_refused_locked"]).count() == 8
    assert AuditEntry.objects.filter(action="locked_out").count() == 1
    assert AgentProfile.objects.get(user__username="alice").locked_until is not None
    with pytest.raises(agent_auth.SignInRefused) as locked:
        agent_auth.check_password("alice", agent.password)
    assert locked.value.code == "locked"
    assert agent_audit.verify()[1] is None
