"""Bundles on external networks are bundles (issue 9, item 6): "Proximus 5 GB / 7 days" bought on the
website reaches the carrier simulator as its product, the line's credit unchanged, and My line, SALDO,
USSD and IVR show it; the activation is idempotent under timeouts and retries, past its deadline it is
cancelled then refunded, and a bundle with no product on its network's route is refused, never credited."""

from __future__ import annotations

import dataclasses
import html
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.test import Client
from django.urls import include, path
from django.utils.translation import override

import topup.urls
from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_paid_orders_end import balanced, ended, paid
from tests.integration.test_ussd_ivr import Call, UssdSession, _action, _said
from tests.integration.test_web_journeys import _get, _hidden, _post
from tests.integration.test_web_pages import compiled_catalogues  # noqa: F401  (autouse: compiles .mo)
from tests.support import wired
from tests.support.orders import signed_in_token
from topup import wiring
from topup.adapters.carriers.http import HttpCarrierGateway
from topup.channels import owners, phone_words, sms
from topup.db.models import CarrierProductRecord, Job, Order, Payment
from topup.domain.money import Money
from topup.ports import CarrierOutcome
from topup.services import selfcare
from topup.services.seed import demo_admin_key
from topup.settings import CONFIG

urlpatterns = [*topup.urls.urlpatterns, path("", include("topup.channels.web.urls"))]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db(transaction=True)]

PLAN = "proximus-data-7d-5gb"
PRODUCT = "PX-DATA-5GB-7D"


def carrier_line(carriers: Carriers, msisdn: str) -> dict[str, Any]:
    answer: dict[str, Any] = carriers.http.get(f"/v1/networks/proximus/lines/{msisdn}/balance").json()
    return answer


@pytest.fixture
def client(seeded: None, live_server: Any, payments_simulator: str, carriers: Carriers) -> httpx.Client:
    return httpx.Client(base_url=live_server.url, timeout=15)


def buy_on_the_website(number: str) -> str:
    """The customer's journey from the number to the payment, approved at the checkout: the order id."""
    web = Client(enforce_csrf_checks=True)
    page = _get(web, "/topup?lang=en", expect="Mobile number")
    assert _post(web, "/topup", page, {"msisdn": number}) == "/topup/network"
    page = _get(web, "/topup/network", expect="Proximus")
    assert _post(web, "/topup/network", page, {"network": "proximus"}) == "/topup/plans"
    page = _get(web, "/topup/plans?kind=data&period=week", expect=f'value="{PLAN}"')
    assert _post(web, "/topup/plans", page, {"plan_id": PLAN}) == "/topup/review"
    page = _get(web, "/topup/review", expect="Total to pay")
    checkout = _post(web, "/topup/review", page, {"payment_method": "card", "idem": _hidden(page, "idem")})
    approved = httpx.post(checkout, data={"action": "approve"}, headers={"Accept": "application/json"})
    assert approved.status_code == 200
    order = Order.objects.get(plan_id=PLAN)
    deadline = time.monotonic() + 15
    while Order.objects.get(id=order.id).status == "awaiting_payment":
        assert time.monotonic() < deadline, "the payment webhook never arrived"
        time.sleep(0.05)
    return order.id


def test_a_proximus_bundle_bought_on_the_website_is_that_product_everywhere(
    client: httpx.Client, carriers: Carriers
) -> None:
    msisdn = "+32470987601"
    credit_before = carriers.balance_minor("proximus", msisdn)
    order_id = buy_on_the_website("0470 98 76 01")
    assert Order.objects.get(id=order_id).quote["carrier_product"] == PRODUCT  # frozen at placement
    run_jobs_until_idle()

    assert ended(order_id) == "delivered"
    line = carrier_line(carriers, msisdn)
    assert line["balance_minor"] == credit_before  # activated as the product, never credited
    [bundle] = line["bundles"]
    assert (bundle["product_ref"], bundle["data_left_mb"], bundle["data_total_mb"]) == (PRODUCT, 5120, 5120)
    carriers.http.post("/v1/admin/usage", json={"network": "proximus", "msisdn": msisdn, "data_mb": 1536})
    assert balanced()

    # My line, in Dutch: the plan's name, what is left of its total, until when.
    web = Client()
    session = web.session
    session[owners.SESSION_LINE_TOKEN] = signed_in_token(msisdn)
    session.save()
    page = _get(web, "/my?lang=nl", expect="5 GB · 7 dagen")  # the plan's title, in Dutch
    assert "nog 3,5 GB van 5 GB" in page
    assert 'max="5120" value="3584"' in page
    assert re.search(r"Geldig tot \d+ \w+ 20\d\d", page)

    saldo = sms.handle_inbound(msisdn, "SALDO")  # answered in Dutch, the keyword's language
    assert "Proximus" in saldo
    assert "5 GB · 7 dagen: nog 3,5 GB van 5 GB, tot " in saldo
    with override("nl"):
        assert phone_words.money_short(Money(0, "EUR")) in saldo  # the credit: unchanged

    ussd = UssdSession(msisdn).send("1")
    assert ussd.startswith("END ")
    assert "5 GB · 7 dagen: nog 3,5 GB van 5 GB, tot " in ussd

    admin = {"Authorization": f"Bearer {demo_admin_key()}"}
    [api] = client.get(f"/api/v1/lines/{msisdn}/balance", headers=admin).json()["bundles"]
    assert (api["plan_id"], api["product_ref"], api["name"]) == (
        PLAN,
        PRODUCT,
        "5 GB · 7 days",
    )  # its title, as every channel words it
    assert (api["remaining_mb"], api["total_mb"], api["unlimited"]) == (3584, 5120, False)
    assert api["expires_at"] is not None

    call = Call(msisdn)
    menu = call.post(_action(call.start()), "4")  # English
    spoken = _said(call.post(_action(menu), "1"))
    assert "Your credit is 0 euros." in spoken
    assert "5 GB, 7 days: 3.5 gigabytes left of 5 gigabytes, valid until " in spoken


def test_every_channel_words_a_bundle_in_each_language(seeded: None) -> None:
    bundle = selfcare.BundleLeft("7 days 5 GB", 3584, False, "2026-12-07T10:00:00+00:00", 5120)
    unlimited = selfcare.BundleLeft("30 days unlimited", 0, True, "2026-12-30", None)
    expected = {
        "nl": "7 days 5 GB: nog 3,5 GB van 5 GB, tot 7/12/2026",
        "fr": "7 days 5 GB: 3,5 Go restants sur 5 Go, jusqu'au 7/12/26",
        "de": "7 days 5 GB: noch 3,5 GB von 5 GB, bis 07.12.26",
        "zh-hans": "7 days 5 GB: 剩余 3.5 GB / 共 5 GB, 有效期至 2026/12/7",
    }
    for language, text in expected.items():
        with override(language):
            assert phone_words.bundle_text(bundle) == text
            assert "unlimited" not in phone_words.bundle_text(unlimited).removeprefix("30 days unlimited")
            assert "GB" not in phone_words.bundle_spoken(bundle).removeprefix(
                "7 days 5 GB"
            )  # words, read out


def test_a_bundle_the_carrier_names_nothing_is_named_in_the_readers_language(seeded: None) -> None:
    """DT One's benefits carry no product and no name: never our English words ("5120 MB data") on a Chinese
    SMS; the plan we sold it as wins, then the carrier's own name, then its data in the reader's language."""
    from topup.ports import CarrierBundle  # noqa: PLC0415
    from topup.services import plan_text  # noqa: PLC0415

    def named(**facts: Any) -> CarrierBundle:
        base = {
            "product_ref": "",
            "name": "",
            "data_left_mb": 5120,
            "data_total_mb": None,
            "unlimited": False,
        }
        return CarrierBundle(**{**base, **facts}, expires_at=None)

    expected = {"zh-hans": "流量", "fr": "Données", "nl": "Data"}
    for language, word in expected.items():
        assert plan_text.carrier_bundle_name(named(), None, language) == word
    assert plan_text.carrier_bundle_name(named(unlimited=True), None, "zh-hans") == "不限量"
    assert plan_text.carrier_bundle_name(named(data_total_mb=5120), None, "fr") == "5 Go"
    assert plan_text.carrier_bundle_name(named(name="Orange Go 5"), None, "fr") == "Orange Go 5"
    sold = plan_text.carrier_bundle_name(named(name="x"), PLAN, "fr")
    assert sold == plan_text.plan_title(PLAN, "fr")
    assert "Go" in sold


def test_a_saldo_with_many_bundles_stays_within_three_parts(
    seeded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = tuple(
        selfcare.BundleLeft(f"30 days 20 GB #{i}", 20_480, False, "2026-12-30", 20_480) for i in range(12)
    )
    found = selfcare.LineBalance("+32470987602", "Proximus", Money(1234, "EUR"), "2027-05-01", many)
    monkeypatch.setattr(selfcare, "balance", lambda line: found)
    for language in ("nl", "zh-hans"):
        selfcare.set_language("+32470987602", language)
        reply = sms.handle_inbound("+32470987602", "BAL")
        assert sms._parts(reply) <= sms.MAX_BALANCE_PARTS
        assert "#0" in reply
        assert "/my" in reply  # the bundles that did not fit are counted, with where to see them


def test_activation_survives_timeouts_and_retries_and_happens_once(
    client: httpx.Client, carriers: Carriers, payments_simulator: str, carriers_simulator: str
) -> None:
    numbers = [f"+3247098761{i}" for i in range(4)]
    orders = [
        paid(
            client,
            "/api/v1/orders",
            f"bundle-timeout-{i}",
            plan_id=PLAN,
            msisdn=number,
            payment_method="card",
        )
        for i, number in enumerate(numbers)
    ]
    impatient = dataclasses.replace(
        CONFIG, carrier_timeout_s=0.5
    )  # shorter than the simulator's late answers
    wiring.start(config=impatient, messaging=False, payments=payments_simulator, carriers=carriers_simulator)
    try:
        carriers.faults("proximus", timeout_rate=1.0)
        from topup.worker import claim, run_one  # noqa: PLC0415

        for job in claim(10, lease_s=30):
            run_one(*job)
        assert {ended(order_id) for order_id in orders} == {"delivering"}  # unknown: nothing decided yet
        carriers.faults("proximus", timeout_rate=0.0)
        time.sleep(3.2)  # the late answers of applied activations are sent (and dropped) by now
        run_jobs_until_idle()
    finally:
        wired.point(carriers=carriers_simulator)
    for order_id, number in zip(orders, numbers, strict=True):
        assert ended(order_id) == "delivered"
        assert [b["product_ref"] for b in carrier_line(carriers, number)["bundles"]] == [PRODUCT]
        assert carrier_line(carriers, number)["balance_minor"] == 0
    assert Job.objects.filter(kind="deliver", subject_id__in=orders, attempts__gt=1).count() == len(orders)


def test_past_its_deadline_a_bundle_is_cancelled_at_the_carrier_then_refunded(
    client: httpx.Client, carriers: Carriers, carriers_simulator: str
) -> None:
    number = "+32470987620"
    order_id = paid(
        client, "/api/v1/orders", "bundle-deadline", plan_id=PLAN, msisdn=number, payment_method="card"
    )
    created = Order.objects.get(id=order_id).created_at
    Order.objects.filter(id=order_id).update(delivery_deadline=created)
    run_jobs_until_idle()
    order = Order.objects.get(id=order_id)
    assert (order.status, order.failure_code) == ("refunded", "delivery_deadline_passed")
    assert Payment.objects.get(order_id=order_id).status == "refunded"
    with HttpCarrierGateway(carriers_simulator, CONFIG.carrier_api_key, 5.0) as gateway:
        late = gateway.activate_bundle("proximus", number, PRODUCT, Money(999, "EUR"), order_id)
        assert (late.outcome, late.code) == (CarrierOutcome.REJECTED, "cancelled")  # a late arrival: refused
        assert gateway.status("proximus", order_id).outcome is CarrierOutcome.CANCELLED
    assert carrier_line(carriers, number)["bundles"] == []
    assert balanced()


def test_a_paid_bundle_keeps_its_frozen_product_when_the_mapping_changes(
    client: httpx.Client, carriers: Carriers
) -> None:
    frozen = paid(client, "/api/v1/orders", "bundle-frozen", plan_id=PLAN, msisdn="+32470987630",
                  payment_method="card")  # fmt: skip
    legacy = paid(client, "/api/v1/orders", "bundle-legacy", plan_id=PLAN, msisdn="+32470987631",
                  payment_method="card")  # fmt: skip
    # An order placed before products were frozen: its bundle is looked up when it is delivered.
    old = Order.objects.get(id=legacy)
    old.quote = {k: v for k, v in old.quote.items() if k not in {"carrier_route", "carrier_product"}}
    old.save(update_fields=["quote"])
    CarrierProductRecord.objects.filter(route="gateway", plan_id=PLAN).update(product_ref="PX-DATA-50GB-30D")
    run_jobs_until_idle()
    assert (ended(frozen), ended(legacy)) == ("delivered", "delivered")
    assert [b["product_ref"] for b in carrier_line(carriers, "+32470987630")["bundles"]] == [PRODUCT]
    assert [b["product_ref"] for b in carrier_line(carriers, "+32470987631")["bundles"]] == [
        "PX-DATA-50GB-30D"
    ]


def test_a_bundle_without_a_product_on_its_route_is_refused_never_credited(
    client: httpx.Client, carriers: Carriers
) -> None:
    CarrierProductRecord.objects.filter(route="gateway", plan_id=PLAN).delete()
    body = {"plan_id": PLAN, "msisdn": "0470 98 76 40"}
    quote = client.post("/api/v1/quotes", json=body, headers={"Accept-Language": "fr"})
    assert quote.status_code == 409, quote.text
    assert quote.json()["error"]["code"] == "plan_not_deliverable"
    assert "ne peut pas être livré" in quote.json()["error"]["message"]
    order = client.post(
        "/api/v1/orders", json=body | {"payment_method": "card"}, headers={"Idempotency-Key": "nd"}
    )
    assert (order.status_code, order.json()["error"]["code"]) == (409, "plan_not_deliverable")
    assert not Order.objects.exists()
    assert client.post("/api/v1/quotes", json=body | {"plan_id": "proximus-credit-10"}).status_code == 200
    web = Client()
    web.get("/?lang=fr")  # the language cookie, as a visitor gets it on the first page
    web.post("/topup", {"msisdn": "0470 98 76 40"})
    web.post("/topup/network", {"network": "proximus"})
    web.post("/topup/plans", {"plan_id": PLAN})
    review = web.get("/topup/review").content.decode()
    assert "ne peut pas être livré" in html.unescape(review)

    # From credit: not offered, and refused by code without a carrier call.
    topup = {"reference": "nd-credit", "msisdn": "+32470987640", "amount_minor": 2000}
    carriers.http.post("/v1/networks/proximus/topups", json=topup).raise_for_status()
    assert "D7G5" not in [code for code, _n, _p in selfcare.bundles_for("+32470987640")]
    refused = selfcare.buy_from_credit("+32470987640", "D7G5")
    assert (refused.ok, refused.code) == (False, "plan_not_deliverable")
    assert carriers.balance_minor("proximus", "+32470987640") == 2000
    selfcare.set_language("+32470987640", "nl")
    assert "kan nu niet geleverd worden" in sms.handle_inbound("+32470987640", "BUY D7G5")


def test_an_order_whose_route_lost_the_product_is_refunded(client: httpx.Client, carriers: Carriers) -> None:
    order_id = paid(client, "/api/v1/orders", "bundle-lost", plan_id=PLAN, msisdn="+32470987650",
                    payment_method="card")  # fmt: skip
    moved = Order.objects.get(id=order_id)
    moved.quote = moved.quote | {"carrier_route": "elsewhere"}  # placed when the network had another route
    moved.save(update_fields=["quote"])
    CarrierProductRecord.objects.filter(route="gateway", plan_id=PLAN).delete()
    run_jobs_until_idle()
    order = Order.objects.get(id=order_id)
    assert (order.status, order.failure_code) == ("refunded", "plan_not_deliverable")
    assert carrier_line(carriers, "+32470987650")["bundles"] == []
    assert carrier_line(carriers, "+32470987650")["balance_minor"] == 0


@pytest.fixture(autouse=True)
def _faults_off(carriers_simulator: str) -> Iterator[None]:
    yield
    Carriers(carriers_simulator).faults("*", timeout_rate=0.0, error_rate=0.0)
