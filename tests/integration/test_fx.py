"""Yuan for Alipay and WeChat Pay payers on the real database and peers: importing the ECB's rates (file,
address, command), the quote API, a rate too old, the rate frozen into the order, a payment charged in
yuan with its webhook check, and both currencies on the order page in Chinese and English."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_order_flow import wait_for_status
from tests.integration.test_webhook_review import post_signed, succeeded
from tests.support.fx import ecb_daily, ecb_document
from tests.support.orders import owner
from topup import fx_cli
from topup.adapters.fx import ecb
from topup.clock import now
from topup.services import fx
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)
BODY = {"plan_id": "proximus-credit-10", "msisdn": "0470 12 34 56"}


@pytest.fixture
def charged_in_yuan(monkeypatch: pytest.MonkeyPatch) -> None:
    """TOPUP_CHARGE_CURRENCY=alipay=CNY,wechat_pay=EUR for this test."""
    charged = dataclasses.replace(CONFIG, charge_currency={"alipay": "CNY", "wechat_pay": "EUR"})
    monkeypatch.setattr(fx, "CONFIG", charged)


class _Feed(http.server.BaseHTTPRequestHandler):
    documents: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.documents.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def feed() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A tiny HTTP server on loopback serving ECB documents by path (tests never reach the internet)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    _Feed.documents = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Feed.documents
    server.shutdown()
    server.server_close()


# ---- import ------------------------------------------------------------------------------------------


def test_import_is_idempotent_and_counts_a_correction(transactional_db: None, tmp_path: Path) -> None:
    from topup.db.models import FxRateRecord  # noqa: PLC0415

    today = now().date()
    history = tmp_path / "eurofxref-hist-90d.xml"
    history.write_bytes(ecb_document([(today - timedelta(days=n), {"CNY": "7.6880", "USD": "1.05"})
                                      for n in range(3)]))  # fmt: skip
    first = fx_cli.import_rates(file=history)
    again = fx_cli.import_rates(file=history)
    assert (first.added, first.unchanged, first.corrected) == (6, 0, 0)
    assert (again.added, again.unchanged, again.corrected) == (0, 6, 0)
    assert FxRateRecord.objects.count() == 6
    assert first.latest is not None
    assert (first.latest.rate_date, str(first.latest.rate), first.latest.source) == (today, "7.6880", "ECB")

    daily = tmp_path / "eurofxref-daily.xml"
    daily.write_bytes(ecb_daily(today, cny="7.6900", usd="1.05"))
    corrected = fx_cli.import_rates(file=daily)
    assert (corrected.added, corrected.corrected) == (0, 1)
    assert FxRateRecord.objects.get(currency="CNY", rate_date=today).rate == "7.6900"


def test_import_without_arguments_reads_the_bundled_sample(transactional_db: None) -> None:
    result = fx_cli.import_rates()
    assert result.latest is not None
    assert (result.latest.currency, str(result.latest.rate)) == ("CNY", "7.6000")


def test_import_from_an_address_and_a_refused_document_stores_nothing(
    transactional_db: None, feed: tuple[str, dict[str, bytes]]
) -> None:
    from topup.db.models import FxRateRecord  # noqa: PLC0415

    base, documents = feed
    documents["/eurofxref-daily.xml"] = ecb_daily(now().date())
    documents["/bomb.xml"] = ecb_daily(now().date()).replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "a">]>', 1)
    documents["/huge.xml"] = b" " * (ecb.MAX_BYTES + 1)
    assert fx_cli.import_rates(url=f"{base}/eurofxref-daily.xml").added == 2
    for refused in ("/bomb.xml", "/huge.xml", "/missing.xml"):
        with pytest.raises(ecb.RatesUnreadable):
            fx_cli.import_rates(url=base + refused)
    assert FxRateRecord.objects.count() == 2


def test_the_command_imports_a_file(
    transactional_db: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from topup.cli import main  # noqa: PLC0415

    daily = tmp_path / "daily.xml"
    daily.write_bytes(ecb_daily(now().date(), cny="7.7001"))
    main(["fx", "import", "--file", str(daily)])
    assert "2 added" in capsys.readouterr().out
    (tmp_path / "bad.xml").write_bytes(b"<x/>")
    with pytest.raises(SystemExit, match="gesmes:Envelope"):
        main(["fx", "import", "--file", str(tmp_path / "bad.xml")])


# ---- quotes -------------------------------------------------------------------------------------------


def test_an_alipay_quote_carries_the_yuan_amount_rate_source_date_and_expiry(seeded: None) -> None:
    client = Client()
    plain = client.post("/api/v1/quotes", {**BODY, "payment_method": "card"}, content_type="application/json")
    assert plain.status_code == 200, plain.content
    assert plain.json()["fx"] is None
    answer = client.post(
        "/api/v1/quotes", {**BODY, "payment_method": "alipay"}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    quote = answer.json()
    assert quote["total"] == {"amount_minor": 1000, "currency": "EUR"}  # the ledger's currency is unchanged
    fx_block = quote["fx"]
    assert fx_block["amount"] == {"amount_minor": 7842, "currency": "CNY"}  # 10 x 7.6880 x 1.02 = 78.4176
    assert (fx_block["rate"], fx_block["source"], fx_block["markup_bp"]) == ("7.6880", "ECB", 200)
    assert fx_block["rate_date"] == now().date().isoformat()
    assert fx_block["charge_currency"] == "EUR"
    valid_until = fx_block["valid_until"]
    assert timedelta(seconds=890) < _parse(valid_until) - now() <= timedelta(seconds=900)


def _parse(text: str) -> Any:
    from datetime import datetime  # noqa: PLC0415

    return datetime.fromisoformat(text)


def test_a_rate_too_old_is_refused_with_a_translated_error(seeded: None) -> None:
    from topup.db.models import FxRateRecord  # noqa: PLC0415

    FxRateRecord.objects.all().delete()
    fx.store_rates(ecb.parse(ecb_daily(now().date() - timedelta(days=CONFIG.fx_max_age_days + 1))))
    client = Client()
    for language, words in (("en", "exchange rate"), ("zh-hans", "汇率")):
        answer = client.post(
            "/api/v1/quotes", {**BODY, "payment_method": "wechat_pay"}, content_type="application/json",
            headers={"Accept-Language": language},
        )  # fmt: skip
        assert answer.status_code == 409
        error = answer.json()["error"]
        assert error["code"] == "fx_rate_unavailable"
        assert words in error["message"]
    # A card payer is not concerned.
    card = client.post("/api/v1/quotes", {**BODY, "payment_method": "card"}, content_type="application/json")
    assert card.status_code == 200


# ---- orders -------------------------------------------------------------------------------------------


def _place(base_url: str, key: str, method: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{base_url}/api/v1/orders",
        json={**BODY, "payment_method": method},
        headers={"Idempotency-Key": key},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def test_the_order_keeps_its_rate_when_newer_rates_arrive(
    seeded: None, live_server: Any, payments_simulator: str
) -> None:
    from topup.db.models import Payment  # noqa: PLC0415

    order = _place(live_server.url, "fx-frozen", "wechat_pay")
    frozen = order["quote"]["fx"]
    assert (frozen["rate"], frozen["amount"]["amount_minor"]) == ("7.6880", 7842)
    payment = Payment.objects.get(id=order["payment"]["id"])
    assert (payment.amount_minor, payment.currency) == (1000, "EUR")  # charged in EUR by default

    fx.store_rates(ecb.parse(ecb_daily(now().date(), cny="8.1234")))  # a correction, same day
    later = httpx.get(f"{live_server.url}/api/v1/orders/{order['id']}", headers=owner(order)).json()
    assert later["quote"]["fx"] == frozen
    fresh = _place(live_server.url, "fx-fresh", "wechat_pay")
    assert fresh["quote"]["fx"]["rate"] == "8.1234"


def test_charged_in_yuan_the_payment_and_its_webhook_check_are_in_yuan(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers, charged_in_yuan: None
) -> None:
    from topup.db.models import Payment, Transfer  # noqa: PLC0415

    # A success reported in EUR for a payment asked in CNY is not ours to take: it waits for review.
    wrong = _place(live_server.url, "fx-cny-wrong", "alipay")
    ref = Payment.objects.get(id=wrong["payment"]["id"]).provider_ref
    assert ref
    outcome = post_signed(live_server.url, succeeded(wrong, ref, "evt_fx_eur", 1000, "eur")).json()["outcome"]
    assert outcome == "needs_review"
    assert Payment.objects.get(id=wrong["payment"]["id"]).review_code == "currency_mismatch"

    order = _place(live_server.url, "fx-cny", "alipay")
    assert order["quote"]["fx"]["charge_currency"] == "CNY"
    payment = Payment.objects.get(id=order["payment"]["id"])
    assert (payment.amount_minor, payment.currency) == (7842, "CNY")
    checkout = order["payment"]["checkout_url"]
    assert "78.42" in httpx.get(checkout).text  # the provider asks the payer for the yuan amount
    approved = httpx.post(checkout, data={"action": "approve"}, headers={"Accept": "application/json"})
    assert approved.status_code == 200
    client = httpx.Client(base_url=live_server.url, timeout=10)
    assert wait_for_status(client, order, {"paid"})["status"] == "paid"
    run_jobs_until_idle()
    assert wait_for_status(client, order, {"delivered"})["status"] == "delivered"

    capture = Transfer.objects.get(id=f"{order['id']}:capture")
    assert (capture.amount_minor, capture.currency) == (1000, "EUR")  # the ledger stays in EUR
    assert capture.metadata == {
        "fx_source": "ECB", "fx_rate": "7.6880", "fx_rate_date": now().date().isoformat(),
        "fx_markup_bp": "200", "fx_amount_minor": "7842", "fx_currency": "CNY", "fx_charge_currency": "CNY",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ("€10.00", "¥78.42", "7.6880", "欧洲央行", "年")),
        ("en", ("10,00\xa0€", "≈ 78,42\xa0CN¥ at 7,6880", "ECB", "+ 2%")),
    ],
)
def test_the_order_page_shows_both_currencies_with_rate_source_and_date(
    seeded: None, live_server: Any, payments_simulator: str, language: str, expected: tuple[str, ...]
) -> None:
    order = _place(live_server.url, f"fx-page-{language}", "alipay")
    client = httpx.Client(base_url=live_server.url, timeout=10)
    client.get(f"/orders/{order['id']}", params={"token": order["order_token"]})
    page = client.get(f"/orders/{order['id']}", params={"lang": language}).text
    shown = page.split('<p id="fx">')[1].split("</p>")[0]
    for part in expected:
        assert part in shown, (part, shown)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ("€10.00（约 ¥78.42，汇率 7.6880，欧洲央行", "此汇率有效期至")),  # noqa: RUF001 - Chinese punctuation, as the page shows it
        ("en", ("≈ 78,42", "This rate holds until")),
    ],
)
def test_the_review_page_shows_each_yuan_method_in_both_currencies(
    seeded: None, language: str, expected: tuple[str, str]
) -> None:
    client = Client()
    client.get("/", {"lang": language})
    assert client.post("/topup", {"msisdn": BODY["msisdn"]}).status_code == 302
    assert client.post("/topup/network", {"network": "proximus"}).status_code == 302
    assert client.post("/topup/plans", {"plan_id": BODY["plan_id"]}).status_code == 302
    page = client.get("/topup/review").content.decode()
    alipay = page.split('id="fx-alipay">')[1].split("</span>")[0]
    wechat = page.split('id="fx-wechat_pay">')[1].split("</span>")[0]
    assert expected[0] in alipay
    assert alipay == wechat  # both charged in EUR by default: the same figures
    assert 'id="fx-card"' not in page
    assert expected[1] in page.split('id="fx-holds">')[1]


def test_a_refund_gives_back_the_yuan_that_was_charged(
    seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers, charged_in_yuan: None
) -> None:
    from topup.db import ledger  # noqa: PLC0415
    from topup.db.models import Payment  # noqa: PLC0415

    # A Proximus number ported to Orange: the carrier refuses it for good, and the order is refunded.
    answer = httpx.post(
        f"{live_server.url}/api/v1/orders",
        json={**BODY, "msisdn": "+32470000001", "payment_method": "alipay"},
        headers={"Idempotency-Key": "fx-refund"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    order = answer.json()
    checkout = order["payment"]["checkout_url"]
    httpx.post(
        checkout, data={"action": "approve"}, headers={"Accept": "application/json"}
    ).raise_for_status()
    client = httpx.Client(base_url=live_server.url, timeout=10)
    assert wait_for_status(client, order, {"paid"})["status"] == "paid"
    run_jobs_until_idle()
    assert wait_for_status(client, order, {"refunded"})["status"] == "refunded"
    payment = Payment.objects.get(id=order["payment"]["id"])
    assert (payment.status, payment.refunded_minor, payment.currency) == ("refunded", 7842, "CNY")
    assert all(t.balanced for t in ledger.trial_balance())
