"""Buying a bundle from the line's prepaid credit, held by its carrier: USSD, IVR and SMS against the carrier
simulator. The credit is debited by exactly the plan's price, once; short credit is said, never debited."""

from __future__ import annotations

import pytest
from django.utils.translation import gettext, override, pgettext

from tests.integration.conftest import Carriers, run_jobs_until_idle
from tests.integration.test_ussd_ivr import (  # noqa: F401  (compiled_catalogues is a fixture)
    Call,
    UssdSession,
    _action,
    _said,
    compiled_catalogues,
    urlpatterns,
)
from topup.channels import phone_words, sms, ussd
from topup.clock import new_id
from topup.domain.money import Money
from topup.ports import PortUnavailable
from topup.services import selfcare, vouchers

pytestmark = [pytest.mark.urls(__name__), pytest.mark.usefixtures("compiled_catalogues")]

WEEK_5GB = "D7G5"  # "7 days 5 GB", EUR 9.99


def give_credit(carriers: Carriers, msisdn: str, amount_minor: int) -> None:
    """Top the line up at the carrier directly, as if paid elsewhere."""
    body = {"reference": new_id("test"), "msisdn": msisdn, "amount_minor": amount_minor, "currency": "EUR"}
    carriers.http.post("/v1/networks/proximus/topups", json=body).raise_for_status()


def key_of(msisdn: str, code: str) -> str:
    return str([c for c, _name, _price in selfcare.bundles_for(msisdn)].index(code) + 1)


def test_only_bundles_are_offered_and_bought_from_credit(seeded: None, carriers: Carriers) -> None:
    msisdn = "+32470203120"
    offered = selfcare.bundles_for(msisdn)
    assert [name for _c, name, _p in offered] == [
        "1 GB · 1 day",
        "5 GB · 7 days",
        "20 GB · 30 days",
        "Unlimited · 30 days",
    ]
    give_credit(carriers, msisdn, 2000)
    refused = selfcare.buy_from_credit(msisdn, "C10")  # credit cannot buy credit
    assert (refused.ok, refused.code) == (False, selfcare.NOT_FROM_CREDIT)
    assert carriers.balance_minor("proximus", msisdn) == 2000


def test_ussd_voucher_top_up_then_a_bundle_from_credit(seeded: None, carriers: Carriers) -> None:
    msisdn = "+32470203121"
    session = UssdSession("0470 20 31 21")
    with override("nl"):
        assert f"5 {pgettext('ussd', 'Buy bundle from credit')}" in session.send("")
    _batch, pairs = vouchers.generate_batch("proximus", "proximus-credit-20", 1)
    assert session.send(f"2*{pairs[0][1]}").startswith("END ")
    run_jobs_until_idle()
    assert carriers.balance_minor("proximus", msisdn) == 2000

    listing = session.send("5")
    key = key_of(msisdn, WEEK_5GB)
    assert listing.startswith("CON ")
    with override("nl"):
        assert f"{key} 5 GB · 7 dagen {phone_words.money_short(Money(999, 'EUR'))}" in listing
    assert session.send(f"5*{key}") == f"CON {_nl('ussd', 'Promo code? (0 = none)')}"
    confirm = session.send(f"5*{key}*0")  # no promo code: bought from credit
    assert confirm.startswith("CON ")
    assert "5 GB · 7 dagen" in confirm
    assert carriers.balance_minor("proximus", msisdn) == 2000  # nothing happens before the yes

    assert session.send(f"5*{key}*0*2") == f"END {_nl('ussd', 'Nothing was bought.')}"
    done = session.send(f"5*{key}*0*1")
    assert done.startswith("END ")
    assert carriers.balance_minor("proximus", msisdn) == 2000 - 999
    with override("nl"):
        assert phone_words.money_short(Money(1001, "EUR")) in done

    unlimited = key_of(msisdn, "D30U")  # EUR 39.99: more than what is left
    short = session.send(f"5*{unlimited}*0*1")
    with override("nl"):
        assert short == ussd_end(
            pgettext("ussd", "Not enough credit for %(plan)s (%(price)s). Top up first.")
            % {"plan": "Onbeperkt · 30 dagen", "price": phone_words.money_short(Money(3999, "EUR"))}
        )
    assert carriers.balance_minor("proximus", msisdn) == 1001
    assert session.send("5*9").startswith(f"CON {_nl('ussd', 'Invalid choice.')}")


def _nl(context: str, message: str) -> str:
    with override("nl"):
        return pgettext(context, message)


def ussd_end(text: str) -> str:
    return ussd.fit(f"END {text}")


def test_ivr_buys_a_plan_from_credit_confirmed_with_1(seeded: None, carriers: Carriers) -> None:
    msisdn = "+32470203122"
    give_credit(carriers, msisdn, 2000)
    call = Call(msisdn)
    menu = call.post(_action(call.start()), "4")  # English
    assert "To buy a plan from your credit, press 4." in _said(menu)
    plans = call.post(_action(menu), "4")
    key = key_of(msisdn, WEEK_5GB)
    assert f"For 5 GB, 7 days at 9 euros and 99 cents, press {key}." in _said(plans)
    confirm = call.post(_action(plans), key)
    assert "step=buy%3AD7G5" in _action(confirm)
    assert "To confirm, press 1." in _said(confirm)
    assert carriers.balance_minor("proximus", msisdn) == 2000

    done = call.post(_action(confirm), "1")
    assert "You bought 5 GB, 7 days. Your credit is now 10 euros and 1 cent." in _said(done)
    assert done.find("Hangup") is not None
    assert carriers.balance_minor("proximus", msisdn) == 1001


def test_ivr_says_when_the_credit_is_short_and_goes_back_to_the_menu(
    seeded: None, carriers: Carriers
) -> None:
    msisdn = "+32470203123"
    call = Call(msisdn, entry="/channels/ivr/voice")
    menu = call.post(_action(call.start()), "4")
    confirm = call.post(_action(call.post(_action(menu), "4")), key_of(msisdn, WEEK_5GB))
    short = call.post(_action(confirm), "1")
    assert "You do not have enough credit for 5 GB, 7 days. It costs 9 euros and 99 cents." in _said(short)
    assert "step=menu" in _action(short)
    assert carriers.balance_minor("proximus", msisdn) == 0
    wrong = call.post(_action(confirm), "7")  # a wrong key at the confirmation asks again
    assert "step=buy%3AD7G5" in _action(wrong)


def test_sms_buy_uses_credit_when_it_covers_the_price_else_a_payment_link(
    seeded: None, carriers: Carriers, payments_simulator: str
) -> None:
    msisdn = "+32470203124"
    no_credit = sms.handle_inbound(msisdn, f"BUY {WEEK_5GB}")
    with override("nl"):
        assert no_credit.startswith(gettext("Pay here to buy %(code)s for %(line)s: %(link)s").split("%")[0])
    assert "http" in no_credit
    assert carriers.balance_minor("proximus", msisdn) == 0

    give_credit(carriers, msisdn, 2000)
    bought = sms.handle_inbound(msisdn, f"BUY {WEEK_5GB}")
    with override("nl"):
        expected = gettext("%(plan)s bought with your credit for %(price)s. Credit left: %(credit)s.")
        price = phone_words.money_short(Money(999, "EUR"))
        credit = phone_words.money_short(Money(1001, "EUR"))
    assert bought == expected % {"plan": "5 GB · 7 dagen", "price": price, "credit": credit}
    assert carriers.balance_minor("proximus", msisdn) == 1001

    credit_plan = sms.handle_inbound(msisdn, "BUY C10")  # credit is paid for, never bought with credit
    assert "http" in credit_plan
    assert carriers.balance_minor("proximus", msisdn) == 1001


def test_a_carrier_that_cannot_answer_debits_at_most_once(seeded: None, carriers: Carriers) -> None:
    msisdn = "+32470203125"
    give_credit(carriers, msisdn, 2000)
    carriers.faults("proximus", error_rate=1.0)
    with pytest.raises(PortUnavailable):
        selfcare.buy_from_credit(msisdn, WEEK_5GB)
    carriers.faults("proximus", error_rate=0.0)
    assert carriers.balance_minor("proximus", msisdn) == 2000
    with override("en"):
        reply = UssdSession(msisdn).send(f"5*{key_of(msisdn, WEEK_5GB)}*0*1")
    assert reply.startswith("END ")
    assert carriers.balance_minor("proximus", msisdn) == 1001
