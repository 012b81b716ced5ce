"""The agent console's pure rules: roles, lock-out, TOTP steps, limits, deciders, the identity check,
what a search names, and the audit hash chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from topup.domain.agents import (
    GENESIS,
    LOCK_FOR,
    MAX_FAILURES,
    DocumentType,
    QueryKind,
    Role,
    audit_hash,
    check_decider,
    classify_query,
    first_broken,
    identity_facts,
    is_locked,
    lock_after,
    role_allows,
    totp_step,
    within_limit,
)
from topup.domain.errors import Conflict, InvalidInput

AT = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def test_roles_rank_upwards_only() -> None:
    assert role_allows(Role.ADMIN, Role.SUPERVISOR)
    assert role_allows(Role.SUPERVISOR, Role.AGENT)
    assert not role_allows(Role.AGENT, Role.SUPERVISOR)
    assert not role_allows(Role.SUPERVISOR, Role.ADMIN)


def test_lock_after_the_fifth_failure_for_fifteen_minutes() -> None:
    assert lock_after(MAX_FAILURES - 1, AT) is None
    until = lock_after(MAX_FAILURES, AT)
    assert until == AT + LOCK_FOR == AT + timedelta(minutes=15)
    assert is_locked(until, AT + timedelta(minutes=14))
    assert not is_locked(until, AT + timedelta(minutes=15))
    assert not is_locked(None, AT)


def test_totp_steps_are_thirty_seconds() -> None:
    assert totp_step(AT + timedelta(seconds=29)) == totp_step(AT)
    assert totp_step(AT + timedelta(seconds=30)) == totp_step(AT) + 1


def test_limit_is_inclusive_and_positive() -> None:
    assert within_limit(2500, 2500)
    assert not within_limit(2501, 2500)
    assert not within_limit(0, 2500)


def test_a_supervisor_decides_but_never_their_own_request() -> None:
    check_decider(1, 2, Role.SUPERVISOR)
    with pytest.raises(Conflict) as own:
        check_decider(2, 2, Role.SUPERVISOR)
    assert own.value.code == "own_request"
    with pytest.raises(Conflict) as agent:
        check_decider(1, 2, Role.AGENT)
    assert agent.value.code == "forbidden_role"


@pytest.mark.parametrize("tail", ["1234", "ab12", " 12-34 ", "X9Z1"])
def test_identity_check_keeps_four_characters(tail: str) -> None:
    facts = identity_facts("passport", tail, "be")
    assert len(facts.last4) == 4
    assert facts.last4 == facts.last4.upper()
    assert facts.document_type is DocumentType.PASSPORT
    assert facts.nationality == "BE"


@pytest.mark.parametrize("tail", ["", "123", "12345", "591-1234567-89", "EL123456", "12 34 5"])
def test_identity_check_refuses_anything_but_the_last_four(tail: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        identity_facts("eid", tail)
    assert refused.value.code == "invalid_document_last4"


def test_identity_check_refuses_unknown_documents_and_nationalities() -> None:
    with pytest.raises(InvalidInput):
        identity_facts("photo_of_card", "1234")
    with pytest.raises(InvalidInput):
        identity_facts("eid", "1234", "Belgium")


@pytest.mark.parametrize(
    "text", ["0470 12 34 56", "+32470123456", "0032 470 12 34 56", "470123456", "0470/12.34.56"]
)
def test_search_reads_a_number_in_any_format(text: str) -> None:
    assert classify_query(text) == (QueryKind.MSISDN, "+32470123456")


def test_search_reads_order_ids_and_iccids() -> None:
    assert classify_query(" ORD_01JABCDEFGHJKMNPQRSTVWXYZ0 ")[0] is QueryKind.ORDER
    assert classify_query("8932 0000 0000 0000 0014")[0] is QueryKind.ICCID
    with pytest.raises(InvalidInput):
        classify_query("   ")


def test_the_hash_chain_finds_the_first_changed_row() -> None:
    rows: list[tuple[str, str, tuple[str, ...]]] = []
    prev = GENESIS
    for n in range(4):
        fields = (f"2026-12-04T18:0{n}", "alice", "sign_in")
        digest = audit_hash(prev, fields)
        rows.append((prev, digest, fields))
        prev = digest
    assert first_broken(rows) is None
    tampered = [*rows]
    tampered[2] = (rows[2][0], rows[2][1], ("2026-12-04T18:02", "mallory", "sign_in"))
    assert first_broken(tampered) == 2
    assert first_broken(rows[:1] + rows[2:]) == 1  # a removed row breaks the next one
