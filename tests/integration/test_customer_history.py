"""`hot_sql.customer_history` reads what the ORM queries it replaced read: the once-per-customer campaigns a
customer used, the plan's free purchases waiting for them, and their latest delivered order's update time,
the customer found by line, number or e-mail, and nobody else's rows counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Q

from topup.db import hot_sql
from topup.db.models import Campaign, Entitlement, Order, PlanRecord, Redemption
from topup.domain import promotion_rules as rules
from topup.domain.quotes import make_quote
from topup.pii import blind_index
from topup.services.promotion_seed import BOGO_ID, FLYER_ID, WELCOME_ID, seed_demo_promotions

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 25, 9, 30, 15, 250_000, tzinfo=UTC)
NUMBER, OTHER, EMAIL = "+32470123456", "+32470999999", "ann@example.org"
PLAN = "proximus-credit-10"


def _order(order_id: str, status: str, minutes: int, *, msisdn: str = "", email: str = "") -> datetime:
    plan = PlanRecord.objects.select_related("network").get(id=PLAN)
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), msisdn, guessed_network=None)
    at = AT + timedelta(minutes=minutes)
    Order.objects.create(
        id=order_id, plan=plan, network=plan.network, msisdn=msisdn, email=email, channel="web",
        status=status,
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        created_at=at, updated_at=at,
    )  # fmt: skip
    return at


def _redemption(order_id: str, campaign_id: str, customer: str, *, counted: bool = True) -> None:
    Redemption.objects.create(
        id=f"rdm_{order_id}_{campaign_id}", order_id=order_id, campaign_id=campaign_id,
        customer_index=customer,
        state="confirmed", counted=counted, created_at=AT, updated_at=AT,
    )  # fmt: skip


def _entitlement(granted_by: str, customer: str, plan_id: str, state: str = "available") -> None:
    Entitlement.objects.create(
        id=f"ent_{granted_by}", campaign_id=BOGO_ID, customer_index=customer, plan_id=plan_id,
        granted_by=granted_by, state=state, created_at=AT, updated_at=AT,
    )  # fmt: skip


_ONCE = (WELCOME_ID, FLYER_ID)  # once per customer: the welcome discount, and FLYER5 as the test sets it


def _by_orm(keys: tuple[str, ...], earlier: Q, plan_id: str) -> hot_sql.CustomerHistory:
    """The queries services/promotions ran before customer_history."""
    once = Q(campaign__once_per_customer=True) | Q(campaign__rule=rules.Rule.FIRST_TOPUP.value)
    used = Redemption.objects.filter(once, counted=True, customer_index__in=keys)
    entitled = Entitlement.objects.filter(customer_index__in=keys, plan_id=plan_id, state="available")
    last = (
        Order.objects.filter(earlier, status="delivered").order_by("-updated_at")
        .values_list("updated_at", flat=True).first()
    )  # fmt: skip
    return hot_sql.CustomerHistory(
        frozenset(used.values_list("campaign_id", flat=True)),
        frozenset(entitled.values_list("campaign_id", flat=True)),
        last,
    )


def test_the_history_is_the_orms_for_a_number_an_email_and_a_stranger(seeded: None) -> None:
    seed_demo_promotions()
    Campaign.objects.filter(id=FLYER_ID).update(once_per_customer=True)
    number, email = blind_index(NUMBER, purpose="msisdn"), blind_index(EMAIL, purpose="email")
    stranger = blind_index(OTHER, purpose="msisdn")
    _order("ord_h1", "delivered", 0, msisdn=NUMBER)
    latest = _order("ord_h2", "delivered", 30, msisdn=NUMBER, email=EMAIL)
    _order("ord_h3", "refunded", 60, msisdn=NUMBER)  # later, but not delivered
    _order("ord_h4", "delivered", 90, msisdn=OTHER)  # someone else
    _redemption("ord_h1", WELCOME_ID, number)
    _redemption("ord_h2", FLYER_ID, email)
    _redemption("ord_h3", BOGO_ID, number)  # not a once-per-customer campaign: not "used"
    _redemption("ord_h4", WELCOME_ID, stranger, counted=False)
    _entitlement("ord_h1", number, PLAN)
    _entitlement("ord_h2", number, "another-plan")
    _entitlement("ord_h4", stranger, PLAN)
    _entitlement("ord_h5", email, PLAN, state="used")

    keys = (number, email)
    found = hot_sql.customer_history(keys, None, NUMBER, EMAIL, PLAN, entitlements=True, once=_ONCE)
    assert found == _by_orm(keys, Q(msisdn=NUMBER), PLAN)
    assert found == hot_sql.CustomerHistory(frozenset({WELCOME_ID, FLYER_ID}), frozenset({BOGO_ID}), latest)

    by_email = hot_sql.customer_history((email,), None, "", EMAIL, PLAN, entitlements=True, once=_ONCE)
    assert by_email == _by_orm((email,), Q(email=EMAIL), PLAN)
    assert by_email.last_delivered_at == latest

    stranger_history = hot_sql.customer_history(
        (stranger,), None, OTHER, "", PLAN, entitlements=False, once=_ONCE
    )
    assert stranger_history.used == frozenset()  # its redemption no longer counts
    assert stranger_history.entitled == frozenset()  # not asked for
    assert stranger_history.last_delivered_at == AT + timedelta(minutes=90)

    newcomer = hot_sql.customer_history(
        (blind_index("+32470000001", purpose="msisdn"),),
        None,
        "+32470000001",
        "",
        PLAN,
        entitlements=True,
        once=_ONCE,
    )
    assert newcomer == hot_sql.CustomerHistory(frozenset(), frozenset(), None)
    assert hot_sql.customer_history((), None, "", "", PLAN, entitlements=True, once=_ONCE) == newcomer


def test_a_hosted_lines_history_is_found_by_its_line(seeded: None) -> None:
    seed_demo_promotions()
    line_key = blind_index("ln_history", purpose="line")
    _redemption("ord_l1", WELCOME_ID, line_key)
    _order("ord_l2", "delivered", 0, msisdn=NUMBER)
    found = hot_sql.customer_history(
        (line_key,), "ln_history", NUMBER, "", PLAN, entitlements=False, once=_ONCE
    )
    assert found == _by_orm((line_key,), Q(line_id="ln_history"), PLAN)
    assert found.used == frozenset({WELCOME_ID})
    assert found.last_delivered_at is None  # the number's delivered orders are not the line's
