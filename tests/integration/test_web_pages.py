"""The customer's order page (top-up and eSIM install instructions, in the customer's language) and the
agents' back office (Django admin), rendered through Django's test client on the real database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

from tests.support.orders import signed_in_token
from topup.db.models import Account, Line, LineEvent, NetworkRecord, Order, OrderEvent, PlanRecord, Transfer
from topup.domain.quotes import make_quote
from topup.services.order_access import order_token

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "topup" / "locale"
AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
SMDP = "smdp.topup.example"
MATCHING_ID = "QR-G-5C-1LS-1W1Z9P7"
ACTIVATION_CODE = f"LPA:1${SMDP}${MATCHING_ID}"
MENU = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"  # how the steps separate menu levels


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues() -> Iterator[None]:
    """The .mo files are git-ignored build products: compile stale ones (atomically, for xdist), then let
    Django drop translation caches that may predate them."""
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        tmp = po.with_name(f"django.{os.getpid()}.web.tmp.mo")
        with tmp.open("wb") as target:
            write_mo(target, catalog)
        tmp.replace(mo)
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


def _order(order_id: str, plan_id: str, msisdn: str, statuses: list[str], line: Line | None = None) -> Order:
    plan = PlanRecord.objects.select_related("network").get(id=plan_id)
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), msisdn, guessed_network=None)
    order = Order.objects.create(
        id=order_id, plan=plan, network=plan.network, msisdn=msisdn, line=line,
        iccid=line.iccid if line else "", channel="web", status=statuses[-1],
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        created_at=AT, updated_at=AT,
    )  # fmt: skip
    previous = ""
    for step, status in enumerate(statuses):
        OrderEvent.objects.create(
            order=order, from_status=previous, to_status=status, at=AT + timedelta(seconds=step)
        )
        previous = status
    return order


def _esim_order(profile_state: str = "released") -> tuple[Order, Line]:
    line = Line.objects.create(
        id="ln_web1", network=NetworkRecord.objects.get(id="topup-esim"), iccid="8932990000000000017",
        eid="89049032000000000000000000000001", matching_id=MATCHING_ID, smdp_address=SMDP,
        profile_state=profile_state, created_at=AT, updated_at=AT,
    )  # fmt: skip
    LineEvent.objects.create(line=line, kind="profile", state="released", code="confirmOrder", at=AT)
    if profile_state != "released":
        LineEvent.objects.create(
            line=line, kind="profile", state=profile_state, code="notification_4",
            detail="notification point 4", at=AT + timedelta(minutes=5),
        )  # fmt: skip
    statuses = ["created", "awaiting_payment", "paid", "delivering", "delivered"]
    return _order("ord_web_esim", "esim-7d-5gb", "", statuses, line=line), line


def _buyer(order: Order) -> Client:
    """A browser back from the checkout's return link: the order's token is kept in its session."""
    client = Client()
    back = client.get(f"/orders/{order.id}", {"token": order_token(order.id)})
    assert back.status_code == 302, back
    return client


@pytest.mark.django_db
def test_esim_order_page_shows_how_to_install(seeded: None) -> None:
    order, _line = _esim_order()

    page = _buyer(order).get(f"/orders/{order.id}")

    assert page.status_code == 200
    text = page.text
    assert '<html lang="en"' in text
    assert ACTIVATION_CODE in text
    assert f'<img src="/api/v1/esim/orders/{order.id}/qr.svg"' in text
    assert 'alt="QR code for your eSIM"' in text
    assert SMDP in text
    assert MATCHING_ID in text
    assert "internet.topup.be" in text  # the APN
    assert f"Settings {MENU} Mobile Service {MENU} Add eSIM" in text
    assert f"Settings {MENU} Network & internet {MENU} SIMs {MENU} Add eSIM" in text
    assert "Turn on data roaming" in text
    assert "it can be installed only once" in text
    assert "9,99\xa0€" in text  # English in Belgium writes euros the Belgian way
    assert ">Done<" in text  # delivered, in the customer's words
    assert ">Ready to install<" in text
    assert 'data-status="delivered"' in text  # the machine status, for scripts
    assert '<meta http-equiv="refresh" content="3">' in text  # waits for the install


@pytest.mark.django_db
def test_installed_esim_page_stops_refreshing(seeded: None) -> None:
    order, _line = _esim_order(profile_state="installed")

    page = _buyer(order).get(f"/orders/{order.id}")

    assert page.status_code == 200
    assert ">Installed<" in page.text
    assert 'http-equiv="refresh"' not in page.text


@pytest.mark.django_db
def test_cancelled_esim_shows_no_code_to_install(seeded: None) -> None:
    order, line = _esim_order()
    Line.objects.filter(id=line.id).update(profile_state="cancelled")  # back in the SM-DP+ pool
    Order.objects.filter(id=order.id).update(status="refunded")
    OrderEvent.objects.create(order=order, from_status="delivered", to_status="refunded", at=AT)

    page = _buyer(order).get(f"/orders/{order.id}")

    assert page.status_code == 200
    assert ">Refunded<" in page.text
    assert ">Cancelled before installation<" in page.text
    assert MATCHING_ID not in page.text
    assert "qr.svg" not in page.text
    assert 'http-equiv="refresh"' not in page.text


@pytest.mark.django_db
def test_topup_waiting_for_payment_refreshes_and_shows_euros(seeded: None) -> None:
    order = _order("ord_web_topup", "proximus-credit-10", "+32470123456", ["created", "awaiting_payment"])

    page = _buyer(order).get(f"/orders/{order.id}")

    assert page.status_code == 200
    assert ">Waiting for payment<" in page.text
    assert "10,00\xa0€" in page.text
    assert '<meta http-equiv="refresh" content="3">' in page.text
    assert 'id="esim"' not in page.text


@pytest.mark.django_db
def test_lang_parameter_switches_to_chinese_and_is_remembered(seeded: None) -> None:
    order, _line = _esim_order()
    client = _buyer(order)

    page = client.get(f"/orders/{order.id}", {"lang": "zh-hans"})

    assert page.status_code == 200
    assert '<html lang="zh-hans"' in page.text
    assert "安装您的 eSIM" in page.text
    assert "它只能安装一次" in page.text  # "it can be installed only once"
    assert ">完成<" in page.text  # "Done"
    assert "Install your eSIM" not in page.text
    # each language is named in itself (a short label, the full name for screen readers), whatever the page's
    assert 'aria-label="English">EN</a>' in page.text
    assert page.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"

    again = client.get(f"/orders/{order.id}")  # no ?lang: the cookie keeps Chinese
    assert "安装您的 eSIM" in again.text


@pytest.mark.django_db
def test_unknown_language_is_ignored(seeded: None) -> None:
    order, _line = _esim_order()

    page = _buyer(order).get(f"/orders/{order.id}", {"lang": "xx"})

    assert page.status_code == 200
    assert "Install your eSIM" in page.text
    assert settings.LANGUAGE_COOKIE_NAME not in page.cookies


@pytest.mark.django_db
def test_unknown_order_is_404(seeded: None) -> None:
    assert Client().get("/orders/ord_does_not_exist").status_code == 404


@pytest.mark.django_db
def test_a_stranger_with_the_order_id_sees_neither_the_page_nor_the_qr_code(seeded: None) -> None:
    order, _line = _esim_order()
    stranger = Client()
    assert stranger.get(f"/orders/{order.id}").status_code == 404
    assert stranger.get(f"/orders/{order.id}", {"token": order_token("ord_other")}).status_code == 404
    for kind in ("svg", "png"):
        refused = stranger.get(f"/api/v1/esim/orders/{order.id}/qr.{kind}")
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "order_not_found"

    buyer = _buyer(order)  # the page's QR image and its refresh work with the session alone
    assert buyer.get(f"/orders/{order.id}").status_code == 200
    assert buyer.get(f"/api/v1/esim/orders/{order.id}/qr.svg").status_code == 200
    assert stranger.get(f"/orders/{order.id}").status_code == 404  # another browser still sees nothing


@pytest.mark.django_db
def test_my_line_signed_in_sees_the_orders_of_its_number_only(seeded: None) -> None:
    mine = _order("ord_web_mine", "proximus-credit-10", "+32470123456", ["created", "awaiting_payment"])
    theirs = _order("ord_web_theirs", "proximus-credit-10", "+32470999999", ["created", "awaiting_payment"])
    token = signed_in_token("+32470123456")
    browser = Client()
    session = browser.session
    session["web_my_token"] = token
    session.save()
    assert browser.get(f"/orders/{mine.id}").status_code == 200
    assert browser.get(f"/orders/{theirs.id}").status_code == 404


@pytest.fixture
def agent() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("agent", "agent@topup.invalid", "not-used-here"))
    return client


@pytest.mark.django_db
def test_admin_shows_lines_and_their_profile_history(seeded: None, agent: Client) -> None:
    _order_row, line = _esim_order(profile_state="installed")

    changelist = agent.get("/admin/topup/line/", {"q": line.iccid})
    assert changelist.status_code == 200
    assert line.iccid in changelist.text

    change = agent.get(f"/admin/topup/line/{line.id}/change/")
    assert change.status_code == 200
    assert "profile state history" in change.text.lower()
    assert "confirmOrder" in change.text
    assert "notification point 4" in change.text
    assert 'name="iccid"' not in change.text  # read-only: no form field to edit


@pytest.mark.django_db
def test_admin_orders_are_read_only_and_plans_editable(seeded: None, agent: Client) -> None:
    order, _line = _esim_order()

    changelist = agent.get("/admin/topup/order/", {"status": "delivered"})
    assert changelist.status_code == 200
    assert order.id in changelist.text
    assert "€9.99" in changelist.text  # money as money, in the reader's language (issue #10)
    assert agent.get(f"/admin/topup/order/{order.id}/change/").status_code == 200
    assert agent.post(f"/admin/topup/order/{order.id}/change/", {"status": "refunded"}).status_code == 403
    assert agent.get("/admin/topup/order/add/").status_code == 403

    plan = agent.get("/admin/topup/planrecord/esim-7d-5gb/change/")
    assert plan.status_code == 200
    assert 'name="price_minor"' in plan.text


@pytest.mark.django_db
def test_admin_cannot_delete_ledger_transfers(seeded: None, agent: Client) -> None:
    cash = Account.objects.create(id="test:cash", name="cash", type="asset", currency="EUR")
    sales = Account.objects.create(id="test:sales", name="sales", type="revenue", currency="EUR")
    transfer = Transfer.objects.create(
        id="test:t1", debit_account=cash, credit_account=sales, amount_minor=999, currency="EUR",
        status="posted", code="capture", created_at=AT, booked_at=AT,
    )  # fmt: skip

    assert agent.get("/admin/topup/transfer/").status_code == 200
    assert agent.get(f"/admin/topup/transfer/{transfer.id}/delete/").status_code == 403
    assert agent.post(f"/admin/topup/transfer/{transfer.id}/delete/", {"post": "yes"}).status_code == 403
    assert agent.get("/admin/topup/transfer/add/").status_code == 403
    assert Transfer.objects.filter(id=transfer.id).exists()
