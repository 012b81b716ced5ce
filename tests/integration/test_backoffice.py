"""The staff back office through Django's test client as a staff user: search by number in any format
(through the blind index, never decrypting), money and names in the reader's language, pages that record
money read-only, the dashboard and streamed CSV exports, and what a non-staff user or staff without a
permission get."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.integration.conftest import Carriers, run_jobs_until_idle
from topup.db.models import InboxEvent, Order, Payment, Transfer, Voucher
from topup.pii import blind_index
from topup.services import vouchers

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "+32470123456"
TYPED = ("0470 12 34 56", "+32 470 12 34 56", "0032470123456", "470123456", "0470/12.34.56")
OTHER = "+32470654321"


@pytest.fixture
def sold(seeded: None, carriers: Carriers) -> dict[str, str]:
    """Two vouchers redeemed over SMS, one for our number and one for another, both delivered."""
    pins = vouchers.generate_batch("proximus", "proximus-credit-10", 2)[1]
    mine = vouchers.redeem(pins[0][1], msisdn=NUMBER, channel="sms", caller_keys=[f"line:{NUMBER}"])
    vouchers.redeem(pins[1][1], msisdn=OTHER, channel="sms", caller_keys=[f"line:{OTHER}"])
    run_jobs_until_idle()
    order_id = str(mine["id"])
    assert Order.objects.get(id=order_id).status == "delivered"
    return {"order": order_id, "serial": pins[0][0], "other": Order.objects.get(msisdn=OTHER).id}


def staff(*perms: str, superuser: bool = False) -> Client:
    if superuser:
        user = User.objects.create_superuser("boss", "boss@topup.invalid", "not-used")
    else:
        user = User.objects.create_user("clerk", "clerk@topup.invalid", "not-used", is_staff=True)
        for perm in perms:
            user.user_permissions.add(Permission.objects.get(codename=perm))
    client = Client()
    client.force_login(user)
    return client


def test_a_number_typed_in_any_format_finds_its_order_payment_and_voucher(sold: dict[str, str]) -> None:
    client = staff(superuser=True)
    payment = Payment.objects.get(order_id=sold["order"]).id
    for typed in TYPED:
        orders = client.get("/admin/topup/order/", {"q": typed}).content.decode()
        assert sold["order"] in orders, typed
        assert sold["other"] not in orders, typed
        assert payment in client.get("/admin/topup/payment/", {"q": typed}).content.decode(), typed
        assert sold["serial"] in client.get("/admin/topup/voucher/", {"q": typed}).content.decode(), typed
    assert sold["order"] not in client.get("/admin/topup/order/", {"q": "0470 99 99 99"}).content.decode()
    assert sold["order"] in client.get("/admin/topup/order/", {"q": sold["order"]}).content.decode()


def test_the_search_looks_up_the_blind_index_and_never_compares_ciphertext(sold: dict[str, str]) -> None:
    client = staff(superuser=True)
    with CaptureQueriesContext(connection) as queries:
        client.get("/admin/topup/order/", {"q": "0470 12 34 56"})
    searched = [q["sql"] for q in queries.captured_queries if 'FROM "order"' in q["sql"]]
    assert searched
    assert any("msisdn_index" in sql and blind_index(NUMBER) in sql for sql in searched)
    assert not any('"msisdn" =' in sql or '"msisdn" LIKE' in sql.upper() for sql in searched)


def test_header_model_names_and_money_follow_the_readers_language(sold: dict[str, str]) -> None:
    client = staff(superuser=True)
    chinese = client.get("/admin/topup/order/", headers={"accept-language": "zh-CN"}).content.decode()
    assert "Topup 后台管理" in chinese
    assert "Django 管理" not in chinese
    assert "订单" in chinese
    assert "创建时间" in chinese
    assert "€10.00" in chinese
    assert "已交付" in chinese  # the status, and the channel, in words
    assert "短信" in chinese
    filtered = client.get("/admin/topup/order/", {"status": "delivered"}).content.decode()
    assert sold["order"] in filtered
    assert sold["order"] not in client.get("/admin/topup/order/", {"status": "refunded"}).content.decode()
    dutch = client.get("/admin/topup/order/", headers={"accept-language": "nl-BE"}).content.decode()
    assert "Topup-backoffice" in dutch
    assert "bestellingen" in dutch.lower()
    assert "€\xa010,00" in dutch or "€ 10,00" in dutch
    detail = client.get(f"/admin/topup/order/{sold['order']}/change/", headers={"accept-language": "fr"})
    page = detail.content.decode()
    assert "10,00\xa0€" in page
    assert "1000" not in page.replace(sold["order"], "")


def test_a_yuan_payment_found_by_number_is_shown_in_yuan(sold: dict[str, str]) -> None:
    client = staff(superuser=True)
    payment = Payment.objects.get(order_id=sold["order"])
    Payment.objects.filter(id=payment.id).update(currency="CNY", amount_minor=7842)
    listed = client.get("/admin/topup/payment/", {"q": "+32 470 12 34 56"}).content.decode()
    assert "CN¥78.42" in listed
    detail = client.get(f"/admin/topup/payment/{payment.id}/change/", headers={"accept-language": "zh-CN"})
    assert "¥78.42" in detail.content.decode()


def test_numbers_are_masked_for_staff_without_the_permission(sold: dict[str, str]) -> None:
    page = staff("view_order").get("/admin/topup/order/").content.decode()
    assert NUMBER not in page
    assert "+32 470 •• •• 56" in page
    assert NUMBER in staff(superuser=True).get("/admin/topup/order/").content.decode()


def test_money_records_cannot_be_changed_or_deleted(sold: dict[str, str]) -> None:
    client = staff(superuser=True)
    payment = Payment.objects.get(order_id=sold["order"])
    transfer = Transfer.objects.filter(order_id=sold["order"]).first()
    InboxEvent.objects.create(provider="stripe", event_id="evt_1", type="x", received_at=payment.created_at)
    event = InboxEvent.objects.get()
    rows = {
        "order": sold["order"],
        "payment": payment.id,
        "transfer": transfer.id if transfer else "",
        "inboxevent": str(event.pk),
    }
    for model, pk in rows.items():
        assert pk, model
        url = f"/admin/topup/{model}/{pk}/"
        assert client.get(url + "change/").status_code == 200  # view only
        assert "deletelink" not in client.get(url + "change/").content.decode()
        assert client.post(url + "change/", {"status": "refunded"}).status_code == 403
        assert client.get(url + "delete/").status_code == 403
        assert client.post(url + "delete/", {"post": "yes"}).status_code == 403
        listing = client.get(f"/admin/topup/{model}/").content.decode()
        assert "delete_selected" not in listing
        assert client.get(f"/admin/topup/{model}/add/").status_code == 403
    assert Order.objects.get(id=sold["order"]).status == "delivered"
    bulk_delete = {"action": "delete_selected", "_selected_action": [sold["order"]], "post": "yes"}
    assert client.post("/admin/topup/order/", bulk_delete).status_code in {200, 302}
    assert Order.objects.filter(id=sold["order"]).exists()


def test_the_dashboard_draws_sales_and_deliveries_as_svg(sold: dict[str, str]) -> None:
    page = staff(superuser=True).get("/admin/dashboard/", headers={"accept-language": "zh-CN"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 4
    assert "<script" not in html.split("<body")[1].split("<!-- START SVGs")[0]
    assert "各渠道销售额" in html
    assert "短信" in html
    assert "€20.00" in html  # two vouchers of €10.00 over SMS
    assert "100.0%" in html  # both delivered
    assert "毫秒" in html or "秒" in html  # the latency percentiles
    charts = html.split('class="backoffice-dashboard"')[1].split("</main>")[0]
    assert " style=" not in charts  # presentation attributes only: the Content-Security-Policy holds
    assert "style-src 'self'" in page["Content-Security-Policy"]


def test_outsiders_get_no_dashboard_and_no_export(sold: dict[str, str]) -> None:
    anonymous = Client()
    for url in ("/admin/dashboard/", "/admin/exports/orders.csv"):
        assert anonymous.get(url).status_code == 302  # to the login page
    user = User.objects.create_user("customer", "c@topup.invalid", "not-used")  # not staff
    outsider = Client()
    outsider.force_login(user)
    for url in ("/admin/dashboard/", "/admin/exports/orders.csv"):
        response = outsider.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    clerk = staff()  # staff, but may not view orders
    assert clerk.get("/admin/dashboard/").status_code == 403
    assert clerk.get("/admin/exports/orders.csv").status_code == 403
    assert clerk.get("/admin/exports/payments.csv").status_code == 403


def _csv(response: object) -> list[list[str]]:
    assert getattr(response, "streaming", False)
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body)))


def test_exports_stream_masked_numbers_iso_times_and_defused_formulas(sold: dict[str, str]) -> None:
    Order.objects.filter(id=sold["order"]).update(failure_code="=HYPERLINK(1)")
    masked = _csv(staff("view_order").get("/admin/exports/orders.csv"))
    header, rows = masked[0], {row[0]: dict(zip(masked[0], row, strict=True)) for row in masked[1:]}
    assert header[:3] == ["id", "created_at", "status"]
    mine = rows[sold["order"]]
    assert mine["msisdn"] == "'+32 470 •• •• 56"
    assert mine["total"] == "10.00"
    assert mine["currency"] == "EUR"
    assert mine["failure_code"] == "'=HYPERLINK(1)"
    assert mine["created_at"].endswith("Z")
    assert "T" in mine["created_at"]
    full = _csv(staff(superuser=True).get("/admin/exports/orders.csv"))
    assert any(row[6] == "'" + NUMBER for row in full[1:])


def test_voucher_and_payment_exports_have_no_pin_and_respect_the_period(sold: dict[str, str]) -> None:
    client = staff(superuser=True)
    rows = _csv(client.get("/admin/exports/vouchers.csv"))
    assert "pin" not in ",".join(rows[0]).lower().replace("pin_", "")
    assert {row[0] for row in rows[1:]} == set(Voucher.objects.values_list("id", flat=True))
    payments = _csv(client.get("/admin/exports/payments.csv"))
    assert len(payments) == 3
    assert len(_csv(client.get("/admin/exports/payments.csv", {"until": "2000-01-01"}))) == 1
    assert client.get("/admin/exports/payments.csv", {"since": "yesterday"}).status_code == 400
    assert client.get("/admin/exports/nothing.csv").status_code == 404


def test_an_empty_dashboard_says_there_is_nothing_yet(seeded: None) -> None:
    page = staff(superuser=True).get("/admin/dashboard/", headers={"accept-language": "de"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("Keine Verkäufe in diesem Zeitraum.") >= 3  # per channel, network and day
    assert "Keine Händler." in html


def test_the_dashboard_asks_the_database_a_fixed_number_of_questions(sold: dict[str, str]) -> None:
    """Aggregates in SQL: more orders, more retailers, the same queries (never one per row)."""
    client = staff(superuser=True)
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/dashboard/")
    pins = vouchers.generate_batch("orange", "orange-credit-10", 5)[1]
    for n, (_serial, pin) in enumerate(pins):
        number = f"+3249512345{n}"
        vouchers.redeem(pin, msisdn=number, channel="ussd", caller_keys=[f"line:{number}"])
    run_jobs_until_idle()
    with CaptureQueriesContext(connection) as many:
        client.get("/admin/dashboard/")
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(few.captured_queries) <= 15


def test_a_hosted_line_is_found_by_its_number_in_any_format(seeded: None) -> None:
    from topup.clock import now  # noqa: PLC0415
    from topup.db.models import Line, NetworkRecord  # noqa: PLC0415

    hosted = NetworkRecord.objects.get(kind="hosted")
    at = now()
    Line.objects.create(
        id="ln_1", network=hosted, iccid="8932000000000000017", msisdn=NUMBER, created_at=at, updated_at=at
    )
    client = staff("view_line")
    for typed in TYPED:
        page = client.get("/admin/topup/line/", {"q": typed}).content.decode()
        assert "8932000000000000017" in page, typed
        assert NUMBER not in page  # found by it, shown masked
    assert (
        "8932000000000000017" not in client.get("/admin/topup/line/", {"q": "0470 65 43 21"}).content.decode()
    )
