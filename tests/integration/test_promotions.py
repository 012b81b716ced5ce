"""The promotion engine through the order services, on SQLite and PostgreSQL: the demo campaigns priced,
codes reserved at placement (race-free, once per order), confirmed when paid, released when a payment
fails or the order expires, rolled back on a refund as the campaign says; the ledger books promotion
expense and balances; a free order asks no provider; bonuses and free bundles are delivered once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.support import fake_payments
from topup.clock import now
from topup.db import ledger
from topup.db.models import BundleRecord, Campaign, Line, Order, PromoCode, Redemption
from topup.domain.errors import DomainError
from topup.domain.ledger import promotion_expense
from topup.domain.money import split_vat
from topup.domain.orders import OrderStatus
from topup.services import attempts, delivery, maintenance, orders, promotion_admin
from topup.services.idempotency import make_key
from topup.services.order_access import Caller
from topup.services.payments import enqueue
from topup.services.promotion_seed import BOGO_ID, FLYER_CODE, FLYER_ID, WELCOME_ID, seed_demo_promotions
from topup.services.transitions import move

pytestmark = pytest.mark.django_db(transaction=True)
MSISDN = "0470 12 34 56"
E164 = "+32470123456"


@pytest.fixture
def fake(seeded: None, carriers: Carriers) -> Iterator[fake_payments.FakePaymentProvider]:
    seed_demo_promotions()
    with fake_payments.installed() as provider:
        yield provider


def request(plan: str = "proximus-credit-10", msisdn: str = MSISDN, code: str = "", **more: Any) -> Any:
    return orders.QuoteRequest(plan, msisdn, network_confirmed=True, promo_code=code, channel="api", **more)


def place(
    plan: str = "proximus-credit-10", msisdn: str = MSISDN, code: str = "", key: str = ""
) -> dict[str, Any]:
    stored = orders.place_order(
        request(plan, msisdn, code), payment_method="card", channel="api", language="en",
        idem=make_key("test-promotions", key or f"k-{Order.objects.count()}-{msisdn}-{code}", {"p": plan}),
    )  # fmt: skip
    body: dict[str, Any] = stored.body
    return body


def uses(code: str = FLYER_CODE) -> int:
    return PromoCode.objects.get(code=code).uses


def states(order_id: str) -> list[str]:
    return sorted(Redemption.objects.filter(order_id=order_id).values_list("state", flat=True))


def books_balance() -> bool:
    return all(t.balanced for t in ledger.trial_balance())


def code_campaign(code: str, max_uses: int | None, **terms: Any) -> Campaign:
    values = {"rule": "fixed", "amount_minor": 100, "requires_code": True, "names": {"en": code}} | terms
    campaign = Campaign.objects.create(id=f"cmp_{code.lower()}", created_at=now(), **values)
    promotion_admin.create_code(code, campaign.id, max_uses=max_uses)
    return campaign


def test_a_first_topup_is_discounted_and_the_ledger_books_promotion_expense(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers
) -> None:
    quoted = orders.quote(request())
    [welcome] = quoted.promotions
    assert (welcome.campaign_id, welcome.saving.amount_minor, quoted.total.amount_minor) == (
        WELCOME_ID,
        100,
        900,
    )
    assert quoted.vat == split_vat(quoted.total).vat

    order = place()
    assert order["total"]["amount_minor"] == 900
    assert [p["campaign_id"] for p in order["quote"]["promotions"]] == [WELCOME_ID]
    assert fake.send("payment.succeeded", order["payment"]["id"]) == "paid"
    run_jobs_until_idle()

    assert Order.objects.get(id=order["id"]).status == OrderStatus.DELIVERED
    assert carriers.balance_minor("proximus", E164) >= 1000  # the line gets the full face value
    expense = split_vat(quoted.price).net.amount_minor - quoted.net.amount_minor
    assert ledger.balance_of(promotion_expense().id) == expense > 0
    assert ledger.in_flight(order["id"]) == 0
    assert books_balance()
    assert states(order["id"]) == ["confirmed"]
    assert orders.quote(request()).promotions == ()  # no longer a first top-up


def test_codes_stack_in_order_and_are_refused_with_stable_codes(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    quoted = orders.quote(request("proximus-credit-15", code=" flyer5 "))
    assert [(p.campaign_id, p.saving.amount_minor, p.code) for p in quoted.promotions] == [
        (WELCOME_ID, 150, ""), (FLYER_ID, 500, FLYER_CODE),
    ]  # fmt: skip
    assert quoted.total.amount_minor == 850
    for code, plan, expected in [
        ("NOPE99", "proximus-credit-15", "promo_code_unknown"),
        ("x", "proximus-credit-15", "promo_code_unknown"),
        (FLYER_CODE, "proximus-credit-10", "promo_code_not_applicable"),
    ]:
        with pytest.raises(DomainError) as refused:
            orders.quote(request(plan, code=code))
        assert (refused.value.code, refused.value.field) == (expected, "promo_code")
    Campaign.objects.filter(id=FLYER_ID).update(ends_at=now() - timedelta(seconds=1))
    with pytest.raises(DomainError) as expired:
        place("proximus-credit-15", code=FLYER_CODE)
    assert expired.value.code == "promo_code_expired"
    assert uses() == 0
    assert not Order.objects.exists()


def test_once_per_customer_and_the_code_counted_once_through_a_two_step_payment_and_a_replay(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order = place("proximus-credit-15", code=FLYER_CODE, key="two-steps")
    assert place("proximus-credit-15", code=FLYER_CODE, key="two-steps")["id"] == order["id"]  # a replay
    assert fake.send("payment.processing", order["payment"]["id"]) in {"processing", "ignored", "pending"}
    assert fake.send("payment.succeeded", order["payment"]["id"]) == "paid"
    assert uses() == 1
    assert states(order["id"]) == ["confirmed", "confirmed"]
    with pytest.raises(DomainError) as again:
        place("proximus-credit-20", code=FLYER_CODE)
    assert again.value.code == "promo_code_used_up"
    assert uses() == 1


def test_a_failed_payment_releases_the_code_a_new_attempt_takes_it_again_an_expiry_releases_it(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order = place("proximus-credit-15", code=FLYER_CODE)
    assert uses() == 1
    fake.send("payment.failed", order["payment"]["id"])
    assert uses() == 0
    assert states(order["id"]) == ["released", "released"]
    caller = Caller(tokens=(str(order["order_token"]),))
    idem = make_key(f"test-retry:{order['id']}", "r-1", {"payment_method": "card"})
    retried = attempts.retry_payment(order["id"], caller, payment_method="card", idem=idem).body
    assert uses() == 1
    assert states(order["id"]) == ["reserved", "reserved"]
    assert fake.send("payment.succeeded", retried["payment"]["id"]) == "paid"
    assert states(order["id"]) == ["confirmed", "confirmed"]

    unpaid = place("proximus-credit-15", msisdn="0470 99 88 77", code=FLYER_CODE)
    assert uses() == 2
    Order.objects.filter(id=unpaid["id"]).update(created_at=now() - timedelta(days=2))
    assert maintenance.expire_unpaid_orders() == 1
    assert uses() == 1
    assert states(unpaid["id"]) == ["released", "released"]


def _paid_then_refunded(fake: fake_payments.FakePaymentProvider, msisdn: str) -> str:
    order = place("proximus-credit-15", msisdn=msisdn, code=FLYER_CODE)
    assert fake.send("payment.succeeded", order["payment"]["id"]) == "paid"
    with transaction.atomic():
        row = Order.objects.select_for_update().get(id=order["id"])
        move(row, OrderStatus.DELIVERY_FAILED, at=now(), code="carrier_rejected")
        enqueue("refund", row.id, at=now())
    run_jobs_until_idle()
    assert Order.objects.get(id=order["id"]).status == OrderStatus.REFUNDED
    return str(order["id"])


def test_a_refund_rolls_the_redemption_back_as_its_campaign_says(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    restored = _paid_then_refunded(fake, "0470 11 11 11")
    assert states(restored) == ["rolled_back", "rolled_back"]
    assert uses() == 0
    orders.quote(request("proximus-credit-15", msisdn="0470 11 11 11", code=FLYER_CODE))  # usable again

    Campaign.objects.filter(id=FLYER_ID).update(refund_rule="keep_used")
    kept = _paid_then_refunded(fake, "0470 22 22 22")
    assert states(kept) == ["rolled_back", "rolled_back"]
    assert uses() == 1
    with pytest.raises(DomainError) as refused:
        orders.quote(request("proximus-credit-15", msisdn="0470 22 22 22", code=FLYER_CODE))
    assert refused.value.code == "promo_code_used_up"
    assert books_balance()


def test_concurrent_checkouts_redeem_a_code_limited_to_ten_exactly_ten_times(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    code_campaign("RACE10", 10)
    numbers = [f"0471 {n:06d}" for n in range(100)]

    def checkout(msisdn: str) -> str:
        try:
            return str(
                place("proximus-credit-10", msisdn=msisdn, code="RACE10", key=f"race-{msisdn}")["status"]
            )
        except DomainError as error:
            return error.code
        finally:
            connection.close()  # each thread has its own connection

    workers = 40 if connection.vendor == "postgresql" else 16  # below the server's connection limit
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(checkout, numbers))
    assert outcomes.count("awaiting_payment") == 10, outcomes
    assert outcomes.count("promo_code_used_up") == 90
    assert uses("RACE10") == 10
    assert Redemption.objects.filter(campaign_id="cmp_race10", state="reserved").count() == 10


def test_concurrent_checkouts_never_spend_a_campaigns_budget_past_its_end(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """An automatic €1 off with €10 of budget, 60 checkouts at once: the budget pays for ten, and every
    other checkout is refused with its stable code (the price it was shown no longer holds) or priced
    without it; the campaign's spending is exactly what its reserved redemptions cost."""
    Campaign.objects.all().update(active=False)
    Campaign.objects.create(
        id="cmp_race_budget", names={"en": "€1 off"}, rule="fixed", amount_minor=100, budget_minor=1000,
        created_at=now(),
    )  # fmt: skip
    numbers = [f"0472 {n:06d}" for n in range(60)]

    def checkout(msisdn: str) -> str:
        try:
            placed = place("proximus-credit-10", msisdn=msisdn, key=f"budget-{msisdn}")
            return "discounted" if placed["total"]["amount_minor"] == 900 else "full price"
        except DomainError as error:
            return error.code
        finally:
            connection.close()  # each thread has its own connection

    workers = 30 if connection.vendor == "postgresql" else 12  # below the server's connection limit
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(checkout, numbers))
    assert outcomes.count("discounted") == 10, outcomes
    assert set(outcomes) <= {"discounted", "full price", "promotion_ended"}, outcomes
    campaign = Campaign.objects.get(id="cmp_race_budget")
    reserved = Redemption.objects.filter(campaign=campaign, state="reserved")
    assert reserved.count() == 10
    assert campaign.spent_minor == sum(r.cost_minor for r in reserved) <= campaign.budget_minor


def test_a_free_order_asks_no_provider_and_is_delivered_with_its_expense_booked(
    fake: fake_payments.FakePaymentProvider, carriers: Carriers
) -> None:
    code_campaign("FREE100", 1, rule="percent", percent_bp=10_000, amount_minor=0)
    order = place("proximus-credit-10", code="FREE100")
    assert order["total"]["amount_minor"] == 0
    assert order["status"] == "paid"
    assert not [call for call in fake.calls if call[0] == "create"]
    run_jobs_until_idle()
    assert Order.objects.get(id=order["id"]).status == OrderStatus.DELIVERED
    assert (
        ledger.balance_of(promotion_expense().id) == split_vat(orders.quote(request()).price).net.amount_minor
    )
    assert books_balance()
    assert uses("FREE100") == 1


def _hosted_line() -> Line:
    at = now()
    return Line.objects.create(
        id="ln_promo", network_id="topup-esim", iccid="8932042000010245583", created_at=at, updated_at=at
    )


def test_buy_one_get_one_gives_its_free_bundle_once(fake: fake_payments.FakePaymentProvider) -> None:
    line = _hosted_line()
    priced = orders.price(orders.QuoteRequest("esim-1d-1gb", iccid=line.iccid, channel="api"))
    [gift] = priced.quote.promotions
    assert (gift.campaign_id, gift.free_plan_id, priced.quote.total.amount_minor) == (
        BOGO_ID,
        "esim-1d-1gb",
        299,
    )
    stored = orders.place_order(
        orders.QuoteRequest("esim-1d-1gb", iccid=line.iccid), payment_method="card", channel="api",
        language="en", idem=make_key("test-bogo", "b-1", {}),
    )  # fmt: skip
    assert fake.send("payment.succeeded", stored.body["payment"]["id"]) == "paid"
    run_jobs_until_idle()
    order_id = stored.body["id"]
    assert Order.objects.get(id=order_id).status == OrderStatus.DELIVERED
    assert BundleRecord.objects.filter(line=line).count() == 2
    assert delivery.deliver(order_id, 2).done  # a replayed job delivers nothing more
    assert BundleRecord.objects.filter(line=line).count() == 2
    assert Campaign.objects.get(id=BOGO_ID).spent_minor == 299
    assert books_balance()


def test_bonus_credit_and_data_within_31_days_go_to_the_hosted_line(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    Campaign.objects.filter(id=BOGO_ID).update(active=False)
    Campaign.objects.create(
        id="cmp_reload", names={"en": "Reload bonus"}, rule="bonus_credit", amount_minor=200,
        min_amount_minor=999, within_days=31, networks="topup-esim", created_at=now(),
    )  # fmt: skip
    Campaign.objects.create(
        id="cmp_reload_data", names={"en": "Reload data"}, rule="bonus_data", bonus_data_mb=512,
        within_days=31, networks="topup-esim", created_at=now(),
    )  # fmt: skip
    line = _hosted_line()
    for n, expected_bonus in ((1, 0), (2, 200)):
        wanted = orders.QuoteRequest("esim-7d-5gb", iccid=line.iccid, channel="api")
        assert sum(
            p.bonus_credit.amount_minor for p in orders.quote(wanted).promotions if p.bonus_credit
        ) == (expected_bonus)
        stored = orders.place_order(
            wanted, payment_method="card", channel="api", language="en", idem=make_key("t", f"r-{n}", {})
        )
        assert fake.send("payment.succeeded", stored.body["payment"]["id"]) == "paid"
        run_jobs_until_idle()
    assert Line.objects.get(id=line.id).credit_minor == 200
    assert ledger.balance_of(promotion_expense().id) == 200
    data_kb = sorted(BundleRecord.objects.filter(line=line).values_list("data_kb", flat=True))
    assert data_kb == [5_120 * 1024, (5_120 + 512) * 1024]  # the bonus on the second top-up only
    assert books_balance()


def test_buy_one_get_one_next_makes_the_next_purchase_free_once_without_a_provider(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    Campaign.objects.filter(id=BOGO_ID).update(bogo_mode="next_purchase")
    line = _hosted_line()
    wanted = orders.QuoteRequest("esim-1d-1gb", iccid=line.iccid, channel="api")
    first = orders.place_order(
        wanted, payment_method="card", channel="api", language="en", idem=make_key("n", "1", {})
    )
    assert fake.send("payment.succeeded", first.body["payment"]["id"]) == "paid"
    run_jobs_until_idle()
    free = orders.quote(wanted)
    assert free.total.amount_minor == 0
    assert [p.rule for p in free.promotions] == ["bogo"]
    calls = len(fake.calls)
    second = orders.place_order(
        wanted, payment_method="card", channel="api", language="en", idem=make_key("n", "2", {})
    )
    assert second.body["status"] == "paid"
    assert len(fake.calls) == calls  # no provider asked for nothing
    run_jobs_until_idle()
    assert Order.objects.get(id=second.body["id"]).status == OrderStatus.DELIVERED
    third = orders.quote(wanted)  # the free purchase is used; this one earns the next
    assert third.total.amount_minor == 299
    assert [p.rule for p in third.promotions] == ["bogo_next"]
    assert books_balance()


def test_a_declined_payment_that_succeeds_after_all_counts_its_code_once_more(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    order = place("proximus-credit-15", code=FLYER_CODE)
    fake.send("payment.failed", order["payment"]["id"])
    assert uses() == 0
    assert fake.send("payment.succeeded", order["payment"]["id"]) == "paid"
    assert uses() == 1
    assert states(order["id"]) == ["confirmed", "confirmed"]


def test_an_order_paid_on_the_spot_takes_its_codes_use_too(fake: fake_payments.FakePaymentProvider) -> None:
    from topup.services.paid_orders import PaidBy, create_paid_order  # noqa: PLC0415

    code_campaign("ONCE1", 1)
    cash = PaidBy(provider="cash", method="cash", provider_ref="", code="cash", detail="")
    # Both priced before either is sold (two shops at once): the second sale finds the code used up.
    first, second = (
        orders.price(request("proximus-credit-10", msisdn=msisdn, code="ONCE1"))
        for msisdn in ("0470 31 31 31", "0470 32 32 32")
    )
    with transaction.atomic():
        create_paid_order(first, cash, channel="pos", language="en", at=now())
    with pytest.raises(DomainError) as refused, transaction.atomic():
        create_paid_order(second, cash, channel="pos", language="en", at=now())
    assert refused.value.code == "promo_code_used_up"
    assert uses("ONCE1") == 1
    assert Order.objects.count() == 1
    assert states(Order.objects.get().id) == ["confirmed", "confirmed"]  # the code and the welcome


def test_a_budget_is_never_exceeded_and_stale_reservations_are_released(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    from topup.services import promotions  # noqa: PLC0415

    Campaign.objects.all().update(active=False)
    Campaign.objects.create(
        id="cmp_budget",
        names={"en": "€1 off"},
        rule="fixed",
        amount_minor=100,
        budget_minor=250,
        created_at=now(),
    )
    # Three checkouts priced at once, before any reserved: the budget pays for two.
    priced = [orders.price(request(msisdn=f"0470 40 40 4{n}")) for n in range(3)]
    assert all(p.quote.discount.amount_minor == 100 for p in priced)
    outcomes = []
    for n, one in enumerate(priced):
        try:
            promotions.reserve(f"ord_budget_{n}", one.quote, promotions.keys_of(one), now())
            outcomes.append("reserved")
        except DomainError as error:
            outcomes.append(error.code)
    assert outcomes == ["reserved", "reserved", "promotion_ended"]
    assert Campaign.objects.get(id="cmp_budget").spent_minor == 200
    assert orders.quote(request(msisdn="0470 40 40 49")).promotions == ()  # €0.50 left: no longer offered

    # Those reservations never became orders (a crash before the commit): the sweep gives them back.
    Redemption.objects.update(created_at=now() - timedelta(days=1))
    maintenance.run_sweeps("test")
    assert Campaign.objects.get(id="cmp_budget").spent_minor == 0
    assert set(Redemption.objects.values_list("state", flat=True)) == {"released"}


def test_a_once_per_customer_code_needs_to_know_the_customer(fake: fake_payments.FakePaymentProvider) -> None:
    Campaign.objects.filter(id=FLYER_ID).update(min_amount_minor=0)
    with pytest.raises(DomainError) as refused:
        orders.quote(
            orders.QuoteRequest("esim-30d-20gb", new_esim=True, promo_code=FLYER_CODE, channel="api")
        )
    assert refused.value.code == "promo_code_not_applicable"
    known = orders.quote(
        orders.QuoteRequest(
            "esim-30d-20gb", new_esim=True, promo_code=FLYER_CODE, channel="api", email="Ann@Example.org"
        )
    )
    assert [p.code for p in known.promotions] == [FLYER_CODE]


def test_an_address_retyped_in_full_width_is_the_same_customer(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    """An outsider's try: FLYER5 once per customer, then the same address typed on a Chinese keyboard."""
    Campaign.objects.filter(id=FLYER_ID).update(min_amount_minor=0)

    def esim(email: str) -> Any:
        return orders.QuoteRequest(
            "esim-30d-20gb", new_esim=True, promo_code=FLYER_CODE, channel="api", email=email
        )

    orders.place_order(
        esim("ann@example.org"), payment_method="card", channel="api", language="en",
        idem=make_key("test-promotions", "full-width-1", {"p": "esim"}),
    )  # fmt: skip
    with pytest.raises(DomainError) as refused:
        orders.quote(esim("\uff21nn\uff20example\uff0eorg"))  # full-width A, at sign and dot
    assert refused.value.code == "promo_code_used_up"


def test_a_provider_outage_gives_the_code_back_and_the_resumed_key_takes_it_again(
    fake: fake_payments.FakePaymentProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from topup.ports import PortUnavailable  # noqa: PLC0415

    def down(request: object) -> object:
        raise PortUnavailable("provider down")

    with monkeypatch.context() as patched:
        patched.setattr(fake, "create_payment", down)
        with pytest.raises(orders.ProviderUnavailable):
            place("proximus-credit-15", code=FLYER_CODE, key="outage")
    assert uses() == 0
    order = place("proximus-credit-15", code=FLYER_CODE, key="outage")  # the same key, resumed
    assert uses() == 1
    assert states(order["id"]) == ["reserved", "reserved"]


def test_a_campaigns_channels_are_checked_and_an_order_costs_what_its_quote_said(
    fake: fake_payments.FakePaymentProvider,
) -> None:
    def wanted(channel: str) -> Any:
        return orders.QuoteRequest("proximus-credit-10", MSISDN, network_confirmed=True, channel=channel)

    assert orders.quote(wanted("pos")).promotions == ()  # the welcome is for web, API, SMS and USSD
    assert orders.quote(wanted("web")).total.amount_minor == 900
    for n, channel in enumerate(("", "web")):  # a caller that does not say its channel, then one that does
        shown = orders.quote(wanted(channel))
        stored = orders.place_order(
            wanted(channel),
            payment_method="card",
            channel="web",
            language="nl",
            idem=make_key("c", f"{n}", {}),
        )
        assert stored.body["total"]["amount_minor"] == shown.total.amount_minor == (1000 if n == 0 else 900)
