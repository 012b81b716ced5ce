"""The shop side of the back office: a bank transfer recorded through the retail service (once, ledger
included), terminals whose secret is shown once and never again, read-only sales and shifts, settlements
whose closing float matches the ledger, and the retail exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.support.retail import float_of
from tests.support.retail import shop as retail_shop
from topup.clock import BRUSSELS, now
from topup.db import ledger
from topup.db.models import FloatTopUp, Retailer, Sale, Shift, Terminal
from topup.domain import ledger as postings
from topup.services.retail import SaleRequest, sell
from topup.services.retail_voids import void

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client() -> Client:
    staff = Client()
    staff.force_login(User.objects.create_superuser("boss", "boss@topup.invalid", "not-used"))
    return staff


@pytest.fixture
def terminal(seeded: None) -> str:
    """A shop with €100.00 of float, 3 % commission on Proximus, two PIN sales and one voided."""
    terminal_id = retail_shop(10_000)[0][0]
    sell(terminal_id, SaleRequest("p-1", "proximus-credit-10", "pin"))
    sell(terminal_id, SaleRequest("p-2", "proximus-credit-10", "pin"))
    void(terminal_id, "p-2")
    return terminal_id


def test_a_bank_transfer_is_recorded_once_through_the_retail_service(client: Client, terminal: str) -> None:
    retailer = Retailer.objects.get(terminals__id=terminal)
    form = client.get("/admin/topup/floattopup/add/", {"retailer": retailer.id})
    assert form.status_code == 200
    before = float_of(terminal)
    posted = {"retailer": retailer.id, "amount": "250.00", "bank_reference": "BE-TRF-77"}
    assert client.post("/admin/topup/floattopup/add/", posted).status_code == 302
    assert client.post("/admin/topup/floattopup/add/", posted).status_code == 302  # the same transfer again
    assert float_of(terminal) == before + 25_000
    assert FloatTopUp.objects.filter(bank_reference="BE-TRF-77").get().recorded_by == "boss"
    assert ledger.balance_of(postings.retailer_float(retailer.id).id) == float_of(terminal)
    other = {**posted, "amount": "300.00"}
    refused = client.post("/admin/topup/floattopup/add/", other, headers={"accept-language": "nl"})
    assert refused.status_code == 200
    assert "al geregistreerd" in refused.content.decode()
    assert float_of(terminal) == before + 25_000
    bad = client.post("/admin/topup/floattopup/add/", {**posted, "amount": "12,345", "bank_reference": "X"})
    assert bad.status_code == 200
    assert float_of(terminal) == before + 25_000


def test_staff_without_the_permission_cannot_record_a_transfer(terminal: str) -> None:
    clerk = User.objects.create_user("clerk", "c@topup.invalid", "not-used", is_staff=True)
    client = Client()
    client.force_login(clerk)
    retailer = Retailer.objects.get(terminals__id=terminal)
    before = float_of(terminal)
    posted = {"retailer": retailer.id, "amount": "250.00", "bank_reference": "BE-TRF-78"}
    assert client.post("/admin/topup/floattopup/add/", posted).status_code == 403
    assert float_of(terminal) == before
    assert client.get("/admin/settlements/").status_code == 403


def test_a_terminal_secret_is_shown_once_and_never_again(client: Client, terminal: str) -> None:
    retailer = Retailer.objects.get(terminals__id=terminal)
    asked = {"retailer": retailer.id, "label": "till 9", "kind": "pos"}
    answer = client.post("/admin/topup/terminal/add/", asked)
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    made = Terminal.objects.get(label="till 9")
    assert made.secret in answer.content.decode()
    pages = ("/admin/topup/terminal/", f"/admin/topup/terminal/{made.id}/change/", "/admin/topup/retailer/")
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200
        assert made.secret not in page.content.decode()
    assert client.get(f"/admin/topup/terminal/{made.id}/delete/").status_code == 403


def test_sales_and_shifts_cannot_be_changed_or_deleted(client: Client, terminal: str) -> None:
    for model, pk in (("sale", Sale.objects.first().pk), ("shift", Shift.objects.get().pk)):  # type: ignore[union-attr]
        url = f"/admin/topup/{model}/{pk}/"
        assert client.get(url + "change/").status_code == 200
        assert client.post(url + "change/", {"status": "sold"}).status_code == 403
        assert client.get(url + "delete/").status_code == 403
        assert "delete_selected" not in client.get(f"/admin/topup/{model}/").content.decode()
    page = client.get(f"/admin/topup/sale/{Sale.objects.first().pk}/change/").content.decode()  # type: ignore[union-attr]
    assert "€10.00" in page


def test_a_settlement_agrees_with_the_ledger(client: Client, terminal: str) -> None:
    today = now().astimezone(BRUSSELS).date().isoformat()
    page = client.get("/admin/settlements/", {"since": today, "until": today}).content.decode()
    assert "Nachtwinkel" in page
    assert "errornote" not in page  # no difference between the ledger and the rows
    body = b"".join(client.get("/admin/settlements.csv", {"since": today, "until": today}).streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["sales_count"], row["voids_count"], row["topups_count"]) == ("2", "1", "1")
    figures = (row["opening_float"], row["sales"], row["voids"], row["topups"])
    assert figures == ("0.00", "20.00", "10.00", "100.00")
    assert row["commission"] == "0.30"  # 3 % of the one sale that stayed
    assert row["closing_float"] == "90.30"
    assert int(row["closing_float"].replace(".", "")) == float_of(terminal)
    assert row["difference"] == "0.00"
    sales = b"".join(client.get("/admin/exports/sales.csv").streaming_content).decode("utf-8-sig")
    assert sales.count("\n") == 3
    assert "pin" not in sales.splitlines()[0]


def test_the_dashboard_shows_the_float_left_per_retailer(client: Client, terminal: str) -> None:
    page = client.get("/admin/dashboard/", headers={"accept-language": "fr"}).content.decode()
    assert "Provision restante par revendeur" in page
    assert "Nachtwinkel: 90,30\xa0€" in page


def test_editing_a_retailer_never_writes_its_float(client: Client, terminal: str) -> None:
    retailer = Retailer.objects.get(terminals__id=terminal)
    url = f"/admin/topup/retailer/{retailer.id}/change/"
    form = {
        "name": "Nachtwinkel Zuid", "address_lines": '["Zuidlaan 2"]', "vat_number": retailer.vat_number,
        "language": "nl", "credit_limit_minor": "5000", "active": "on", "float_minor": "999999",
        "commissions-TOTAL_FORMS": "0", "commissions-INITIAL_FORMS": "0",
        "terminals-TOTAL_FORMS": "0", "terminals-INITIAL_FORMS": "0",
    }  # fmt: skip
    before = float_of(terminal)
    Retailer.objects.filter(id=retailer.id).update(float_minor=before - 100)  # a sale while staff edit
    assert client.post(url, form).status_code == 302
    saved = Retailer.objects.get(id=retailer.id)
    assert (saved.name, saved.credit_limit_minor, saved.float_minor) == (
        "Nachtwinkel Zuid",
        5000,
        before - 100,
    )
    used = Retailer.objects.filter(id=retailer.id).update(float_minor=-3000)
    assert used == 1
    lowered = client.post(url, {**form, "credit_limit_minor": "1000"}, headers={"accept-language": "de"})
    assert lowered.status_code == 200  # refused: below the credit already in use
    assert "nicht unter dem bereits genutzten Kredit" in lowered.content.decode()
    assert Retailer.objects.get(id=retailer.id).credit_limit_minor == 5000


def test_a_closed_shifts_z_report_reads_as_money_in_words(client: Client, terminal: str) -> None:
    from topup.services import shifts  # noqa: PLC0415

    till = Terminal.objects.select_related("retailer").get(id=terminal)
    shifts.close(till, counted_cash_minor=5_000 + 1000, reason="")
    shift = Shift.objects.get(terminal_id=terminal)
    page = client.get(f"/admin/topup/shift/{shift.id}/change/", headers={"accept-language": "zh-CN"})
    html = page.content.decode()
    assert "应有现金" in html  # expected cash
    assert "€50.00" in html  # the opening float
    assert "expected_cash_minor" not in html  # the raw document is not shown
    assert client.post(f"/admin/topup/shift/{shift.id}/change/", {}).status_code == 403
