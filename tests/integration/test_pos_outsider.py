"""The POS API tried as someone abusing it would: hostile values in every field, the path and the signing
headers, each answered with a stable error code (never a 500) and nothing sold."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support.retail import Till, float_of, shop, signed_headers
from topup.db.models import Sale

pytestmark = pytest.mark.django_db(transaction=True)
SALE = {"terminal_ref": "t-1", "plan_id": "proximus-credit-10", "kind": "direct", "msisdn": "0470123456"}


@pytest.fixture
def till(seeded: None) -> Till:
    [(terminal, secret)] = shop()
    return Till(Client(), terminal, secret)


def refused(answer: object) -> str:
    status = answer.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, (status, answer.content)  # type: ignore[attr-defined]
    return str(json.loads(answer.content)["error"]["code"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body",
    [
        {**SALE, "kind": "bitcoin"},
        {**SALE, "tender": "iou"},
        {**SALE, "msisdn": "\uff10\uff14\uff17\uff10 abc"},
        {**SALE, "msisdn": "+33612345678"},
        {**SALE, "plan_id": "../../etc/passwd"},
        {**SALE, "language": "xx-\u0000"},
        {**SALE, "terminal_ref": "a" * 65},
        {**SALE, "terminal_ref": "ref with spaces/and/slashes"},
        {**SALE, "cash_given_minor": -1},
        {**SALE, "cash_given_minor": 10**30},
        {**SALE, "cash_given_minor": 1},  # less cash than the price
        {**SALE, "cash_given_minor": "ten"},
        {**SALE, "network_confirmed": "maybe"},
        {"terminal_ref": "t-1"},
    ],
)
def test_a_hostile_sale_is_refused_and_sells_nothing(till: Till, body: dict[str, object]) -> None:
    assert refused(till.post("/api/v1/pos/sales", body))
    assert Sale.objects.count() == 0
    assert float_of(till.terminal_id) == 10_000


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pos/sales/%00",
        "/api/v1/pos/sales/" + "x" * 500,
        "/api/v1/pos/sales/t-1/receipt?format=exe",
        "/api/v1/pos/sales/t-1/receipt?format=pdf&language=xx",
    ],
)
def test_hostile_paths_are_answered_with_a_code(till: Till, path: str) -> None:
    assert refused(till.get(path))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/pos/shifts/current/z", {"counted_cash_minor": -5}),
        ("/api/v1/pos/shifts/current/z", {"counted_cash_minor": 1e309}),
        ("/api/v1/pos/shifts/current/cash", {"direction": "sideways", "amount_minor": 100}),
        ("/api/v1/pos/shifts/current/cash", {"direction": "out", "amount_minor": 0}),
        ("/api/v1/pos/quote", {"plan_id": "", "msisdn": "x"}),
        ("/api/v1/pos/sales/t-404/void", {}),
    ],
)
def test_hostile_shift_and_quote_bodies_are_refused(till: Till, path: str, body: dict[str, object]) -> None:
    assert refused(till.post(path, body))


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_TIMESTAMP": "not-a-number"},
        {"HTTP_X_TIMESTAMP": "9" * 40},
        {"HTTP_X_NONCE": "n" * 5000},
        {"HTTP_X_NONCE": "short"},
        {"HTTP_X_TERMINAL_ID": "trm_\u00e9\u4e2d"},
        {"HTTP_X_SIGNATURE": "v1=zz"},
        {"HTTP_X_SIGNATURE": "v2=" + "0" * 64},
    ],
)
def test_hostile_signing_headers_are_refused(till: Till, headers: dict[str, str]) -> None:
    raw = json.dumps(SALE).encode()
    signed = {**signed_headers(till.terminal_id, till.secret, "POST", "/api/v1/pos/sales", raw), **headers}
    answer = till.client.post("/api/v1/pos/sales", raw, content_type="application/json", **signed)
    assert answer.status_code == 401, answer.content
    assert json.loads(answer.content)["error"]["code"]
    assert Sale.objects.count() == 0
