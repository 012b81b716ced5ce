"""Agent console helpers for tests: create an agent, compute their TOTP codes, sign in a Django client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest
from django.db import connection
from django.test import Client

from topup.services import agent_auth


@dataclass(frozen=True)
class Agent:
    username: str
    password: str
    secret: str

    def code(self, step_offset: int = 0) -> str:
        """The TOTP code of the current step (or a neighbour: each code is accepted once)."""
        return pyotp.TOTP(self.secret).at(int(time.time()) + 30 * step_offset)


def make_agent(username: str, role: str = "agent", limit: str = "25.00") -> Agent:
    made = agent_auth.create_agent(username, role, limit, counter="desk1")
    return Agent(username, made.password, pyotp.parse_uri(made.provisioning_uri).secret)


def signed_in(agent: Agent, step_offset: int = 0, client: Client | None = None, code: str = "") -> Client:
    """A client through both factors (CSRF not enforced; tests about CSRF make their own client)."""
    client = client or Client()
    answer = client.post("/agent/sign-in", {"username": agent.username, "password": agent.password})
    assert answer.status_code == 302, answer
    assert answer["Location"].endswith("/agent/sign-in/code"), answer
    answer = client.post("/agent/sign-in/code", {"code": code or agent.code(step_offset)})
    assert answer.status_code == 302, answer.content[:500]
    assert answer["Location"].endswith("/agent/"), answer.content[:500]
    return client


@pytest.fixture
def audit_flushable(transactional_db: None) -> Iterator[None]:
    """Let the test database be emptied after a test that wrote audit rows. On SQLite the audit table
    refuses DELETE unless `agent_audit_unlock` holds a row: it is emptied (locked) for the test and
    filled just before pytest-django's flush. PostgreSQL's flush is a TRUNCATE, which row triggers
    do not see."""
    _unlock(on=False)
    yield
    _unlock(on=True)


def _unlock(*, on: bool) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM agent_audit_unlock")
        if on:
            cursor.execute("INSERT INTO agent_audit_unlock (flag) VALUES (1)")
