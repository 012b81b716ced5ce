"""The kiosk sells for cash: the acceptor simulator reports each note as a signed event to the live server,
the note that covers the price makes the sale from the retailer's float (and the change as a credit top-up),
the receipt is printed; cancelling hands the escrow back; the idle timeout forgets the customer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support.kiosk import Kiosk, cash_acceptor, enrolled_browser, make_shop, print_to_file
from topup.db import ledger
from topup.db.models import KioskCashEvent, KioskCashSession, Order, Retailer, Sale
from topup.services import kiosk_devices, retail_admin
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def printer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return print_to_file(tmp_path, monkeypatch)


@pytest.fixture
def kiosk(seeded: None, live_server: Any) -> Iterator[Kiosk]:
    with cash_acceptor(live_server.url, make_shop()) as shop:
        yield shop


def choose(browser: Client, language: str, number: str, plan_id: str) -> None:
    assert browser.post("/kiosk/language", {"language": language}).status_code == 302
    assert browser.post("/kiosk/number", {"msisdn": number})["Location"] == "/kiosk/plans"
    assert browser.post("/kiosk/plans", {"plan_id": plan_id})["Location"] == "/kiosk/pay"
    assert browser.get("/kiosk/pay").status_code == 200


def start_cash(browser: Client) -> KioskCashSession:
    response = browser.post("/kiosk/cash/start")
    assert response["Location"] == "/kiosk/cash", response.content.decode()
    return KioskCashSession.objects.get()


def float_of(kiosk: Kiosk) -> int:
    return Retailer.objects.get(id=kiosk.retailer_id).float_minor


def test_cash_pays_and_the_change_tops_up_the_same_number(
    kiosk: Kiosk, carriers: Carriers, printer: Path
) -> None:
    browser = enrolled_browser(kiosk.terminal_id)
    choose(browser, "zh-hans", "0470 12 34 56", "proximus-credit-10")
    session = start_cash(browser)
    assert kiosk.insert(500)["accepted"] is True
    assert browser.get("/kiosk/cash/status").json()["inserted_minor"] == 500
    too_big = kiosk.insert(5_000)  # € 45 over: no € 45 credit plan, handed back from escrow
    assert (too_big["accepted"], too_big["code"]) == (False, "cash_no_change")
    assert kiosk.insert(7)["code"] == "cash_denomination_refused"  # the validator knows no 7-cent coin
    paid = kiosk.insert(1_000)  # € 15 for € 10: € 5 back as a € 5 credit top-up
    assert paid["accepted"] is True
    assert paid["platform"]["status"] == "paid"
    session.refresh_from_db()
    assert (session.status, session.inserted_minor, session.change_plan_id) == (
        "paid",
        1_500,
        "proximus-credit-5",
    )
    assert kiosk.device_session(session.id)["status"] == "stacked"
    sales = {sale.id: sale for sale in Sale.objects.all()}
    assert set(sales) == {session.sale_id, session.change_sale_id}
    assert sales[session.sale_id].cash_given_minor == 1_000
    assert sales[session.change_sale_id].cash_given_minor == 500
    assert all(sale.change_minor in (0, None) for sale in sales.values())  # no coins came back
    commission = sum(sale.commission_minor for sale in sales.values())
    assert float_of(kiosk) == 50_000 - 1_500 + commission
    run_jobs_until_idle()
    assert {o.status for o in Order.objects.filter(channel="kiosk")} | {
        o.status for o in Order.objects.all()
    } == {"delivered"}
    assert all(t.balanced for t in ledger.trial_balance())
    printed = printer.read_bytes()
    assert printed.startswith(b"\x1b@")  # ESC @: an ESC/POS job
    receipt = browser.get("/kiosk/receipt")
    text = receipt.content.decode()
    assert "10.00" in text
    assert "10,00" in text or "10.00" in text
    assert "Proximus" in text


def test_each_event_counts_once_and_only_when_signed_by_this_kiosk(kiosk: Kiosk, live_server: Any) -> None:
    from tests.support.kiosk import KIOSK_SECRET  # noqa: PLC0415
    from topup.simulators.cash.signing import signed_headers  # noqa: PLC0415

    browser = enrolled_browser(kiosk.terminal_id)
    choose(browser, "en", "0470 12 34 56", "proximus-credit-20")
    session = start_cash(browser)
    url = f"{live_server.url}/kiosk/cash/events"
    body = f'{{"event_id": "ev-1", "session_id": "{session.id}", "amount_minor": 1000}}'.encode()
    import httpx  # noqa: PLC0415

    def post(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(url, content=body, headers={**headers, "Content-Type": "application/json"})

    assert post({}).status_code == 401
    for bad in (b"not json", b'{"event_id": "e", "session_id": "s", "amount_minor": -5}', b"[]"):
        headers = signed_headers(kiosk.terminal_id, KIOSK_SECRET, "POST", "/kiosk/cash/events", bad)
        refused = httpx.post(url, content=bad, headers={**headers, "Content-Type": "application/json"})
        assert refused.status_code in {400, 422}
        assert refused.json()["error"]["code"] in {"invalid_json", "json_not_object", "invalid_cash_event"}
    forged = signed_headers(kiosk.terminal_id, "not-the-secret", "POST", "/kiosk/cash/events", body)
    assert post(forged).status_code == 401
    stale = signed_headers(kiosk.terminal_id, KIOSK_SECRET, "POST", "/kiosk/cash/events", body)
    stale["X-Timestamp"] = str(int(time.time()) - 3_600)
    assert post(stale).status_code == 401
    assert not KioskCashEvent.objects.exists()
    good = signed_headers(kiosk.terminal_id, KIOSK_SECRET, "POST", "/kiosk/cash/events", body)
    first = post(good)
    assert first.status_code == 200
    assert first.json()["inserted_minor"] == 1_000
    assert post(good).status_code == 401  # the same nonce again: a replay
    again = post(signed_headers(kiosk.terminal_id, KIOSK_SECRET, "POST", "/kiosk/cash/events", body))
    assert again.json() == first.json()  # the same event id: counted once
    session.refresh_from_db()
    assert session.inserted_minor == 1_000
    till = retail_admin.create_terminal(kiosk.retailer_id, "till", kind="pos", secret=KIOSK_SECRET)
    by_till = signed_headers(till.terminal_id, KIOSK_SECRET, "POST", "/kiosk/cash/events", body)
    assert post(by_till).status_code == 401  # the shop's POS terminal has no cash acceptor
    other = make_shop("Another shop", float_minor=0)
    theirs = signed_headers(other.terminal_id, KIOSK_SECRET, "POST", "/kiosk/cash/events", body)
    assert post(theirs).status_code == 404  # another retailer's kiosk cannot pay into this session
    session.refresh_from_db()
    assert session.inserted_minor == 1_000


def test_cancel_hands_the_escrow_back_and_sells_nothing(kiosk: Kiosk) -> None:
    browser = enrolled_browser(kiosk.terminal_id)
    choose(browser, "nl", "0470 12 34 56", "proximus-credit-20")
    session = start_cash(browser)
    kiosk.insert(1_000)
    page = browser.post("/kiosk/cash/cancel")
    assert page.status_code == 200
    assert "10,00" in page.content.decode()
    session.refresh_from_db()
    assert session.status == "cancelled"
    device = kiosk.device_session(session.id)
    assert (device["status"], device["returned_minor"]) == ("returned", [1_000])
    assert kiosk.insert(1_000)["code"] == "cash_no_session"
    assert not Sale.objects.exists()
    assert float_of(kiosk) == 50_000


def test_an_idle_kiosk_forgets_the_customer_on_the_server(kiosk: Kiosk) -> None:
    browser = enrolled_browser(kiosk.terminal_id)
    choose(browser, "fr", "0470 12 34 56", "proximus-credit-20")
    session = start_cash(browser)
    kiosk.insert(500)
    stored = browser.session
    stored["kiosk_touched_at"] = time.time() - 3_600
    stored.save()
    assert browser.get("/kiosk/pay")["Location"] == "/kiosk/"  # nothing chosen any more
    session.refresh_from_db()
    assert session.status == "cancelled"
    assert kiosk.device_session(session.id)["returned_minor"] == [500]
    assert "kiosk" not in browser.session


def test_outsiders_and_spent_codes_get_nothing(kiosk: Kiosk) -> None:
    outsider = Client()
    for path in ("/kiosk/", "/kiosk/number", "/kiosk/pay", "/kiosk/cash"):
        assert outsider.get(path).status_code == 403
    assert outsider.post("/kiosk/cash/start").status_code == 403
    assert outsider.get("/kiosk/cash/status").status_code == 404
    forged = Client()
    forged.cookies["topup_kiosk"] = "kenr_made_up:signature"
    assert forged.get("/kiosk/").status_code == 403
    from topup.clock import now  # noqa: PLC0415
    from topup.services import kiosk_enrolment  # noqa: PLC0415

    _enrolment, code = kiosk_enrolment.make_code(kiosk.terminal_id, at=now())
    assert Client().get(f"/kiosk/enrol?code={code}").status_code == 302
    assert Client().get(f"/kiosk/enrol?code={code}").status_code == 403  # once
    browser = enrolled_browser(kiosk.terminal_id)
    assert browser.get("/kiosk/").status_code == 200
    kiosk_enrolment.revoke(kiosk.terminal_id, at=now())
    assert browser.get("/kiosk/").status_code == 403
    assert not KioskCashSession.objects.exists()


def test_a_shop_without_float_hands_the_note_back(seeded: None, live_server: Any) -> None:
    with cash_acceptor(live_server.url, make_shop("Empty shop", float_minor=0)) as broke:
        browser = enrolled_browser(broke.terminal_id)
        choose(browser, "nl", "0470 12 34 56", "proximus-credit-10")
        session = start_cash(browser)
        refused = broke.insert(1_000)
        assert (refused["accepted"], refused["code"]) == (False, "float_insufficient")
        assert "tegoed" in browser.get("/kiosk/cash/status").json()["notice"]  # in Dutch
        session.refresh_from_db()
        assert (session.status, session.inserted_minor) == ("open", 0)
        assert not Sale.objects.exists()
        assert broke.device_session(session.id)["returned_minor"] == [1_000]


def test_each_kiosk_reaches_its_own_devices_else_the_platforms(seeded: None) -> None:
    shop = make_shop()
    platform = kiosk_devices.Devices(CONFIG.kiosk_reader_id, CONFIG.cash_url, CONFIG.kiosk_printer)
    assert kiosk_devices.of(shop.terminal_id) == platform

    own = kiosk_devices.set_devices(
        shop.terminal_id, reader_id="tmr_kiosk_2", cash_url="http://10.0.0.7:8008", printer=None
    )
    assert own == kiosk_devices.Devices("tmr_kiosk_2", "http://10.0.0.7:8008", CONFIG.kiosk_printer)
    assert kiosk_devices.set_devices(shop.terminal_id, reader_id="", cash_url="", printer=None) == platform

    till = retail_admin.create_terminal(shop.retailer_id, "till 1", kind="pos")
    with pytest.raises(LookupError):  # a POS terminal has no kiosk devices
        kiosk_devices.set_devices(till.terminal_id, reader_id="tmr_x", cash_url=None, printer=None)
