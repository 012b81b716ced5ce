"""A number's network: our latest delivered order to it wins over the range holder (numbers are portable);
orders not delivered, or to another number, do not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from topup.db.models import Order, PlanRecord
from topup.domain.quotes import make_quote
from topup.services import catalogue

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
NUMBER = "+32470123456"


def _order(order_id: str, plan_id: str, status: str, minutes: int, msisdn: str = NUMBER) -> str:
    """The order's network id."""
    plan = PlanRecord.objects.select_related("network").get(id=plan_id)
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), msisdn, guessed_network=None)
    at = AT + timedelta(minutes=minutes)
    Order.objects.create(
        id=order_id, plan=plan, network=plan.network, msisdn=msisdn, channel="web", status=status,
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        created_at=at, updated_at=at,
    )  # fmt: skip
    return str(plan.network_id)


def test_the_latest_delivered_order_names_the_network(seeded: None) -> None:
    assert catalogue.lookup("0470 12 34 56").source != "history"
    base = _order("ord_look1", "base-credit-10", "delivered", 0)
    orange = _order("ord_look2", "orange-credit-10", "delivered", 10)
    proximus = _order("ord_look3", "proximus-credit-10", "refunded", 20)  # later, but not delivered
    _order("ord_look4", "proximus-credit-10", "delivered", 30, msisdn="+32470123457")  # another number
    assert len({base, orange, proximus}) == 3
    assert catalogue.lookup("0470 12 34 56") == catalogue.Lookup(NUMBER, orange, "history")
    Order.objects.filter(id="ord_look1").update(updated_at=AT + timedelta(minutes=40))
    assert catalogue.lookup(NUMBER) == catalogue.Lookup(NUMBER, base, "history")
