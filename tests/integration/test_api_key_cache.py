"""API keys are remembered per process for a bounded time: a revoked key stops working within
KEY_CACHE_TTL_S everywhere, and at once where it was revoked through the ORM; scopes are still enforced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from topup.channels.api import auth
from topup.clock import now
from topup.db.models import ApiKey

pytestmark = pytest.mark.django_db

TRIAL_BALANCE = "/api/v1/admin/ledger/trial-balance"


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """A fresh cache and a clock the test moves (a list so the test can change it)."""
    clock = [1000.0]
    monkeypatch.setattr(auth, "monotonic", lambda: clock[0])
    auth.forget_verified_keys()
    yield clock
    auth.forget_verified_keys()


def _get(key: str) -> int:
    return Client().get(TRIAL_BALANCE, HTTP_AUTHORIZATION=f"Bearer {key}").status_code


def _key_id(key: str) -> str:
    return f"key_{key.split('_')[1]}"


def test_a_key_revoked_elsewhere_stops_working_within_the_ttl(empty_cache: list[float]) -> None:
    key = auth.create_key(["admin"], name="ops")
    assert _get(key) == 200
    # Another process revokes it: a bulk update, no signal reaches this process's cache.
    ApiKey.objects.filter(id=_key_id(key)).update(revoked_at=now())
    empty_cache[0] += auth.KEY_CACHE_TTL_S / 2
    assert _get(key) == 200  # still remembered: the documented bound, not forever
    empty_cache[0] += auth.KEY_CACHE_TTL_S / 2
    assert _get(key) == 401


def test_a_key_revoked_through_the_orm_stops_at_once() -> None:
    key = auth.create_key(["admin"], name="ops")
    assert _get(key) == 200
    row = ApiKey.objects.get(id=_key_id(key))
    row.revoked_at = now()
    row.save()
    assert _get(key) == 401


def test_a_remembered_key_still_needs_the_scope() -> None:
    key = auth.create_key(["balance:read"], name="reader")
    assert auth.verified_key(key) is not None  # remembered now
    assert _get(key) == 403
    assert _get(key) == 403


def test_unknown_keys_are_not_remembered() -> None:
    assert _get("tpk_nobody_secret") == 401
    assert auth._verified == {}


def test_a_remembered_key_needs_no_query() -> None:
    key = auth.create_key(["admin"], name="ops")
    assert auth.verified_key(key) is not None
    with CaptureQueriesContext(connection) as queries:
        assert auth.verified_key(key) is not None
    assert len(queries) == 0
