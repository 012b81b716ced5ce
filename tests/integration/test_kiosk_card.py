"""The kiosk takes a card: a normal order (channel kiosk, method card_present) handed to the reader of the
payment simulator's Stripe Terminal; a declined tap says so and offers to try again, an approved one is paid
by the signed webhook, delivered, and its receipt printed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from tests.integration.conftest import run_jobs_until_idle
from tests.support.kiosk import enrolled_browser, make_shop, print_to_file
from topup.db.models import Order, Payment
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)
DECLINED = "4000000000000002"
APPROVED = "4242424242424242"


def tap(payments: str, number: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{payments}/v1/test_helpers/terminal/readers/{CONFIG.kiosk_reader_id}/present_payment_method",
        data={"card_present[number]": number}, headers={"Authorization": f"Bearer {CONFIG.payments_api_key}"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for(browser: Client, status: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (seen := browser.get("/kiosk/card/status").json()["status"]) != status:
        assert time.monotonic() < deadline, f"still {seen}, never {status}"
        time.sleep(0.1)


@pytest.fixture
def printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return print_to_file(tmp_path, monkeypatch)


@pytest.mark.usefixtures("seeded", "live_server", "carriers")
def test_a_declined_card_then_an_approved_one(payments_simulator: str, printed: Path) -> None:
    shop = make_shop()
    browser = enrolled_browser(shop.terminal_id)
    browser.post("/kiosk/language", {"language": "de"})
    browser.post("/kiosk/number", {"msisdn": "0470 99 88 77"})
    browser.post("/kiosk/plans", {"plan_id": "proximus-data-7d-5gb"})  # € 9.99: card only
    pay = browser.get("/kiosk/pay").content.decode()
    assert "/kiosk/cash/start" not in pay  # coins cannot reach € 9.99
    assert browser.post("/kiosk/card/start")["Location"] == "/kiosk/card"
    first = Order.objects.get()
    assert (first.channel, first.status) == ("kiosk", "awaiting_payment")
    assert Payment.objects.get(order=first).method == "card_present"
    assert tap(payments_simulator, DECLINED)["action"]["status"] == "failed"
    wait_for(browser, "declined")
    declined = browser.get("/kiosk/card/declined").content.decode()
    assert "Karte" in declined
    assert "/kiosk/cash/start" not in declined  # € 9.99 cannot be paid in coins: no cash offered
    assert browser.post("/kiosk/card/start")["Location"] == "/kiosk/card"  # try again: a new order
    second = Order.objects.exclude(id=first.id).get()
    assert tap(payments_simulator, APPROVED)["action"]["status"] == "succeeded"
    wait_for(browser, "paid")
    run_jobs_until_idle()
    second.refresh_from_db()
    assert second.status == "delivered"
    assert Order.objects.get(id=first.id).status == "awaiting_payment"  # never paid; it expires
    receipt = browser.get("/kiosk/card/receipt").content.decode()
    assert "9,99" in receipt or "9.99" in receipt
    assert printed.read_bytes().startswith(b"\x1b@")
    size = printed.stat().st_size
    browser.get("/kiosk/card/receipt")
    assert printed.stat().st_size == size  # shown again, printed once


def test_an_outsider_cannot_start_a_card_payment(seeded: None) -> None:
    make_shop()
    assert Client().post("/kiosk/card/start").status_code == 403
    assert Client().get("/kiosk/card/status").status_code == 404
    assert not Order.objects.exists()


@pytest.mark.usefixtures("seeded", "live_server")
def test_an_idle_customer_at_the_reader_is_forgotten_and_the_reader_stops(payments_simulator: str) -> None:
    browser = enrolled_browser(make_shop().terminal_id)
    browser.post("/kiosk/language", {"language": "en"})
    browser.post("/kiosk/number", {"msisdn": "0470 99 88 77"})
    browser.post("/kiosk/plans", {"plan_id": "proximus-credit-10"})
    browser.get("/kiosk/pay")
    browser.post("/kiosk/card/start")
    reader = f"{payments_simulator}/v1/terminal/readers/{CONFIG.kiosk_reader_id}"
    auth = {"Authorization": f"Bearer {CONFIG.payments_api_key}"}
    assert httpx.get(reader, headers=auth).json()["action"]["status"] == "in_progress"
    stored = browser.session
    stored["kiosk_touched_at"] = time.time() - 3_600
    stored.save()
    assert browser.get("/kiosk/card")["Location"] == "/kiosk/"
    assert httpx.get(reader, headers=auth).json()["action"] is None
    assert Order.objects.get().status == "awaiting_payment"  # never paid; it expires
