"""The POS API as a terminal calls it: signed requests only, once each; a terminal sees its own sales."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from tests.support.retail import Till, float_of, shop, signed_headers
from topup.db.models import Retailer, Sale, Terminal, TerminalNonce

pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/v1/pos/sales"
PIN_SALE = {"terminal_ref": "t-1", "plan_id": "proximus-credit-10", "kind": "pin", "language": "nl"}


def code(response: object) -> str:
    return str(json.loads(response.content)["error"]["code"])  # type: ignore[attr-defined]


@pytest.fixture
def till(seeded: None) -> Till:
    [(terminal, secret)] = shop()
    return Till(Client(), terminal, secret)


def nothing_changed(till: Till, nonces: int = 0) -> None:
    assert Sale.objects.count() == 0
    assert float_of(till.terminal_id) == 10_000
    assert TerminalNonce.objects.count() == nonces


def test_a_signed_sale_is_made_once_and_replayed(till: Till) -> None:
    catalogue = till.get("/api/v1/pos/catalogue")
    assert catalogue.status_code == 200
    proximus = next(p for p in catalogue.json() if p["id"] == "proximus-credit-10")
    assert proximus["commission_bp"] == 300
    assert (proximus["title"], proximus["network_name"]) == ("10\u00a0€ credit", "Proximus")  # issue #11
    quote = till.post("/api/v1/pos/quote", {"plan_id": "proximus-credit-10", "kind": "pin"})
    assert quote.json()["float_cost"]["amount_minor"] == 970
    first = till.post(SALES, PIN_SALE)
    assert first.status_code == 201
    assert first.json()["pin"]["pin"]
    again = till.post(SALES, PIN_SALE)  # a new nonce, the same terminal_ref and body: the first answer
    assert again.status_code == 200
    assert again.json() == first.json()
    other = till.post(SALES, {**PIN_SALE, "plan_id": "proximus-credit-15"})
    assert other.status_code == 409
    assert code(other) == "terminal_ref_conflict"
    assert Sale.objects.count() == 1
    assert float_of(till.terminal_id) == 10_000 - 970
    status = till.get(f"{SALES}/t-1")
    assert status.json()["status"] == "sold"


def test_unsigned_forged_stale_and_replayed_requests_change_nothing(till: Till) -> None:
    raw = json.dumps(PIN_SALE).encode()
    post = till.client.post
    assert code(post(SALES, raw, content_type="application/json")) == "terminal_signature_required"
    forged = signed_headers(till.terminal_id, "not-the-secret", "POST", SALES, raw)
    answer = post(SALES, raw, content_type="application/json", **forged)
    assert answer.status_code == 401
    assert code(answer) == "invalid_terminal_signature"
    tampered = signed_headers(till.terminal_id, till.secret, "POST", SALES, b"{}")
    assert code(post(SALES, raw, content_type="application/json", **tampered)) == "invalid_terminal_signature"
    stale = signed_headers(till.terminal_id, till.secret, "POST", SALES, raw, at=time.time() - 301)
    assert code(post(SALES, raw, content_type="application/json", **stale)) == "stale_timestamp"
    future = signed_headers(till.terminal_id, till.secret, "POST", SALES, raw, at=time.time() + 301)
    assert code(post(SALES, raw, content_type="application/json", **future)) == "stale_timestamp"
    short = signed_headers(till.terminal_id, till.secret, "POST", SALES, raw, nonce="short")
    assert code(post(SALES, raw, content_type="application/json", **short)) == "invalid_nonce"
    nothing_changed(till)
    good = signed_headers(till.terminal_id, till.secret, "POST", SALES, raw)
    assert post(SALES, raw, content_type="application/json", **good).status_code == 201
    replayed = post(SALES, raw, content_type="application/json", **good)
    assert replayed.status_code == 401
    assert code(replayed) == "nonce_reused"
    assert Sale.objects.count() == 1
    assert float_of(till.terminal_id) == 10_000 - 970


def test_an_unknown_or_switched_off_terminal_is_refused(till: Till) -> None:
    stranger = Till(till.client, "trm_00000000000000000000000000", till.secret)
    assert code(stranger.post(SALES, PIN_SALE)) == "unknown_terminal"
    Terminal.objects.filter(id=till.terminal_id).update(active=False)
    assert code(till.post(SALES, PIN_SALE)) == "unknown_terminal"
    Terminal.objects.filter(id=till.terminal_id).update(active=True)
    Retailer.objects.update(active=False)
    assert code(till.post(SALES, PIN_SALE)) == "unknown_terminal"
    nothing_changed(till)


def test_another_retailers_sale_is_not_found(till: Till) -> None:
    assert till.post(SALES, PIN_SALE).status_code == 201
    [(terminal, secret)] = shop()
    other = Till(till.client, terminal, secret)
    for answer in (
        other.get(f"{SALES}/t-1"),
        other.get(f"{SALES}/t-1/receipt?format=text"),
        other.post(f"{SALES}/t-1/void", {}),
    ):
        assert answer.status_code == 404
        assert code(answer) == "sale_not_found"
    assert Sale.objects.get(terminal_ref="t-1").status == "sold"


def test_errors_come_in_the_terminals_language(till: Till) -> None:
    Retailer.objects.update(float_minor=0)
    answer = till.post(SALES, PIN_SALE, HTTP_ACCEPT_LANGUAGE="nl")
    assert answer.status_code == 409
    assert json.loads(answer.content)["error"]["message"].startswith("Het tegoed van de winkel")


def test_receipts_in_every_format(till: Till) -> None:
    pin = till.post(SALES, PIN_SALE).json()["pin"]["pin"]
    data = till.get(f"{SALES}/t-1/receipt?format=json").json()
    assert data["pin"]["pin"] == pin
    assert data["seller"]["vat_number"] == "BE0123456789"
    assert pin in till.get(f"{SALES}/t-1/receipt?format=text").content.decode()
    assert till.get(f"{SALES}/t-1/receipt?format=escpos").content.startswith(b"\x1b@")
    assert till.get(f"{SALES}/t-1/receipt?format=pdf").content.startswith(b"%PDF")
    assert till.get(f"{SALES}/t-1/receipt?format=doc").status_code == 422
    voided = till.post(f"{SALES}/t-1/void", {})
    assert voided.json()["status"] == "voided"
    assert till.get(f"{SALES}/t-1/receipt?format=json").json()["kind"] == "void"


def test_the_pos_routes_are_in_the_openapi_document(seeded: None) -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/pos/sales", "/api/v1/pos/shifts/current/z", "/api/v1/pos/catalogue"} <= set(paths)


def test_old_nonces_and_pins_are_forgotten_by_the_sweep(till: Till) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from topup.services import retail_upkeep  # noqa: PLC0415

    pin = till.post(SALES, PIN_SALE).json()["pin"]["pin"]
    assert retail_upkeep.sweep() == (0, 0)
    TerminalNonce.objects.update(seen_at=Sale.objects.get().sold_at - timedelta(minutes=11))
    Sale.objects.update(pin_kept_until=Sale.objects.get().sold_at - timedelta(seconds=1))
    assert retail_upkeep.sweep() == (1, 1)
    receipt = till.get(f"{SALES}/t-1/receipt?format=json").json()
    assert receipt["pin"]["pin"] != pin
    assert receipt["pin"]["serial"] == Sale.objects.get().voucher_id


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"kind": "direct", "msisdn": "12"}, 400, "invalid_msisdn"),
        ({"kind": "direct", "msisdn": ""}, 400, "msisdn_required"),
        ({"plan_id": "no-such-plan"}, 404, "plan_not_found"),
        ({"cash_given_minor": 500, "tender": "cash"}, 400, "cash_given_too_small"),
        ({"terminal_ref": "a/b"}, 400, "invalid_terminal_ref"),
        ({"tender": "cheque"}, 422, "invalid_request"),
        ({"cash_given_minor": -1}, 422, "invalid_request"),
    ],
)
def test_bad_sales_are_refused_with_a_stable_code_and_change_nothing(
    till: Till, body: dict[str, object], status: int, error: str
) -> None:
    answer = till.post(SALES, {**PIN_SALE, **body})
    assert answer.status_code == status
    assert code(answer) == error
    nothing_changed(till, nonces=1)


def test_cash_paid_in_and_out_moves_the_expected_cash(till: Till) -> None:
    x = till.get("/api/v1/pos/shifts/current/x").json()["report"]
    assert x["expected_cash_minor"] == 5_000
    till.post("/api/v1/pos/shifts/current/cash", {"kind": "paid_in", "amount_minor": 2_000, "note": "bank"})
    after = till.post("/api/v1/pos/shifts/current/cash", {"kind": "paid_out", "amount_minor": 500})
    assert after.json()["report"]["expected_cash_minor"] == 6_500
    refused = till.post("/api/v1/pos/shifts/current/cash", {"kind": "paid_out", "amount_minor": 0})
    assert refused.status_code == 422
    z = till.post("/api/v1/pos/shifts/current/z", {"counted_cash_minor": 6_500})
    assert z.json()["report"]["variance_minor"] == 0
    assert code(till.get("/api/v1/pos/shifts/current/x")) == "shift_not_open"
    opened = till.post("/api/v1/pos/shifts", {"opened_by": "Bram"})
    assert opened.status_code == 201
    assert opened.json()["report"]["opening_float_minor"] == 6_500
    assert code(till.post("/api/v1/pos/shifts", {})) == "shift_already_open"


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"terminal_ref": "a\\u0000"}', b"\xff\xfe"])
def test_a_signed_but_malformed_body_is_a_400_and_changes_nothing(till: Till, raw: bytes) -> None:
    headers = signed_headers(till.terminal_id, till.secret, "POST", SALES, raw)
    answer = till.client.post(SALES, raw, content_type="application/json", **headers)
    assert answer.status_code in {400, 422}
    assert json.loads(answer.content)["error"]["code"]
    nothing_changed(till, nonces=1)
