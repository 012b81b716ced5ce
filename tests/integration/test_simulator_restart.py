"""The payment simulator and the DT One simulator keep their accounts in a state file, as Stripe and DT
One keep theirs: after a restart every PaymentIntent, refund, Checkout Session, event and webhook endpoint
(and every DT One transaction, line and the float) is listed as before, and what was under way goes on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import free_port, running
from tests.support.stripe_sim import API_KEY, SECRET, receiving

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@contextmanager
def _payments(port: int, state: Path, webhook_url: str) -> Iterator[httpx.Client]:
    args = ["-m", "topup.simulators.payments", "--port", str(port), "--api-key", API_KEY, "--seed", "7"]
    args += ["--webhook-url", webhook_url, "--webhook-secret", SECRET, "--state-file", str(state)]
    base_url = f"http://127.0.0.1:{port}"
    with (
        running(args, ready_url=f"{base_url}/healthz"),
        httpx.Client(base_url=base_url, headers=AUTH) as http,
    ):
        yield http


def _listed(http: httpx.Client) -> dict[str, Any]:
    """Everything the account lists, as it answers it."""
    page = {"limit": 100}
    return {
        "intents": http.get("/v1/payment_intents", params=page).json()["data"],
        "refunds": http.get("/v1/refunds", params=page).json()["data"],
        "sessions": http.get("/v1/checkout/sessions", params=page).json()["data"],
        "endpoints": http.get("/v1/webhook_endpoints", params=page).json()["data"],
        "events": http.get("/_sim/events").json()["data"],
        "totals": http.get("/_sim/summary").json()["totals"],
    }


def _intent(http: httpx.Client, **fields: str) -> dict[str, Any]:
    answer = http.post("/v1/payment_intents", data={"amount": "1000", "currency": "eur", **fields})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_payment_simulator_keeps_its_account_across_a_restart(tmp_path: Path) -> None:
    state, port = tmp_path / "payments.sqlite3", free_port()
    with receiving() as (receiver, webhook_url):
        with _payments(port, state, webhook_url) as http:
            card = _intent(http, **{"payment_method_types[]": "card", "confirm": "true",
                                    "payment_method": "pm_card_visa"})  # fmt: skip
            assert card["status"] == "succeeded"
            alipay = _intent(http, **{"payment_method_types[]": "alipay", "confirm": "true",
                                      "payment_method_data[type]": "alipay",
                                      "return_url": "http://shop.test/"})  # fmt: skip
            assert alipay["status"] == "requires_action"
            refund = http.post("/v1/refunds", data={"payment_intent": card["id"], "amount": "400"})
            assert refund.status_code == 200, refund.text
            hook = http.post(
                "/v1/webhook_endpoints", data={"url": "http://127.0.0.1:9/other", "enabled_events[]": "*"}
            )
            assert hook.status_code == 200, hook.text
            session = http.post("/v1/checkout/sessions", data={
                "mode": "payment", "success_url": "http://shop.test/ok", "line_items[0][quantity]": "1",
                "line_items[0][price_data][currency]": "eur", "line_items[0][price_data][unit_amount]": "500",
                "line_items[0][price_data][product_data][name]": "Top-up",
            })  # fmt: skip
            assert session.status_code == 200, session.text
            before = _listed(http)
        kept = {name: len(before[name]) for name in ("intents", "refunds", "sessions", "endpoints")}
        assert kept == {"intents": 2, "refunds": 1, "sessions": 1, "endpoints": 2}
        assert before["events"], "the account emitted events"

        with _payments(port, state, webhook_url) as http:
            assert _listed(http) == before  # nothing forgotten, nothing doubled (the flag's endpoint too)
            # What was waiting for the customer before the restart can still be paid, once.
            approved = httpx.post(
                alipay["next_action"]["alipay_handle_redirect"]["url"], data={"action": "approve"},
                headers={"Accept": "application/json"},
            )  # fmt: skip
            assert approved.json()["status"] == "succeeded"
            receiver.wait_for(alipay["id"], "payment_intent.succeeded")
            later = _intent(http, **{"payment_method_types[]": "card"})
            listed = http.get("/v1/payment_intents").json()["data"]
            assert [i["id"] for i in listed][:1] == [later["id"]]  # newest first, after the kept ones
            assert http.get("/_sim/summary").json()["totals"]["eur"]["captured"] == 2000


def test_the_payment_simulator_keeps_its_idempotency_keys_across_a_restart(tmp_path: Path) -> None:
    """A create resumed after a restart with its key gets the first PaymentIntent, not a second one."""
    state, port = tmp_path / "payments.sqlite3", free_port()
    create = {"amount": "1500", "currency": "eur", "payment_method_types[]": "card"}
    key = {"Idempotency-Key": "order-ord_1-attempt-1"}
    with receiving() as (_receiver, webhook_url):
        with _payments(port, state, webhook_url) as http:
            first = http.post("/v1/payment_intents", data=create, headers=key)
            assert first.status_code == 200, first.text
        with _payments(port, state, webhook_url) as http:
            again = http.post("/v1/payment_intents", data=create, headers=key)
            other = http.post("/v1/payment_intents", data={**create, "amount": "1600"}, headers=key)
            listed = http.get("/v1/payment_intents").json()["data"]
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [intent["id"] for intent in listed] == [first.json()["id"]]
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"


@contextmanager
def _dtone(port: int, state: Path) -> Iterator[httpx.Client]:
    from topup.settings import CONFIG  # noqa: PLC0415

    args = ["-m", "topup.simulators.dtone", "--port", str(port), "--api-key", CONFIG.dtone_api_key]
    args += ["--api-secret", CONFIG.dtone_api_secret, "--processing-ms", "50", "--state-file", str(state)]
    base_url = f"http://127.0.0.1:{port}"
    auth = (CONFIG.dtone_api_key, CONFIG.dtone_api_secret)
    with running(args, ready_url=f"{base_url}/healthz"), httpx.Client(base_url=base_url, auth=auth) as http:
        yield http


def _sale(http: httpx.Client, external_id: str, product_id: int, msisdn: str, *, confirm: bool) -> int:
    body = {"external_id": external_id, "product_id": product_id,
            "credit_party_identifier": {"mobile_number": msisdn}}  # fmt: skip
    created = http.post("/v1/async/transactions", json=body)
    assert created.status_code == 201, created.text
    tx_id = int(created.json()["id"])
    if confirm:
        assert http.post(f"/v1/async/transactions/{tx_id}/confirm").status_code == 202
    return tx_id


def _completed(http: httpx.Client, tx_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        found: dict[str, Any] = http.get(f"/v1/transactions/{tx_id}").json()
        if found["status"]["class"]["message"] == "COMPLETED" or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _account(http: httpx.Client, msisdns: tuple[str, ...]) -> dict[str, Any]:
    return {
        "transactions": http.get("/v1/transactions", params={"per_page": 100}).json(),
        "balance": http.get("/v1/balances").json(),
        "lines": {m: http.get(f"/sim/lines/{m}").json() for m in msisdns},
    }


def test_the_dtone_simulator_keeps_its_transactions_lines_and_float_across_a_restart(tmp_path: Path) -> None:
    state, port = tmp_path / "dtone.sqlite3", free_port()
    credit_line, bundle_line = "+32496000501", "+32496000502"
    with _dtone(port, state) as http:
        credit = _sale(http, "ord_restart_credit", 210202, credit_line, confirm=True)
        bundle = _sale(http, "ord_restart_bundle", 210221, bundle_line, confirm=True)
        waiting = _sale(http, "ord_restart_waiting", 210201, credit_line, confirm=False)
        assert _completed(http, credit)["status"]["class"]["message"] == "COMPLETED"
        assert _completed(http, bundle)["status"]["class"]["message"] == "COMPLETED"
        assert http.post("/sim/balance", json={"available_minor": 123_456}).status_code == 200
        before = _account(http, (credit_line, bundle_line))
    assert len(before["transactions"]) == 3
    assert before["lines"][bundle_line]["bundles"], "the bundle reached its line"

    with _dtone(port, state) as http:
        assert _account(http, (credit_line, bundle_line)) == before
        again = http.post("/v1/async/transactions", json={
            "external_id": "ord_restart_credit", "product_id": 210202,
            "credit_party_identifier": {"mobile_number": credit_line},
        })  # fmt: skip
        assert again.status_code == 400  # the external_id is still taken: exactly once survives a restart
        assert http.post(f"/v1/async/transactions/{waiting}/confirm").status_code == 202
        assert _completed(http, waiting)["status"]["class"]["message"] == "COMPLETED"
        fresh = _sale(http, "ord_restart_fresh", 210201, credit_line, confirm=False)
        assert fresh > max(credit, bundle, waiting)  # ids go on from where they were
