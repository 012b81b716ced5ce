"""A promo code by SMS (`BUY <plan> CODE <promo>`, in five languages) and by USSD (a "Promo code? (0 = none)"
step before the confirmation): the code reaches the engine, the answer shows what it saves and what is left
to pay, the purchase becomes an order paid by link (a discount cannot lower what an operator debits from
credit), and a refused code is said in the line's language with nothing created.
The engine is stood in for (tests/support/promotions); the carrier and payment simulators are real peers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from django.utils.translation import override, pgettext

from tests.integration.conftest import Carriers
from tests.integration.test_buy_from_credit import WEEK_5GB, give_credit, key_of
from tests.integration.test_notifications import RecordingSms
from tests.integration.test_ussd_ivr import (  # noqa: F401  (compiled_catalogues is a fixture)
    UssdSession,
    compiled_catalogues,
    urlpatterns,
)
from tests.support import notify
from tests.support.promotions import CODE, FakeEngine, install, welcome_bonus
from topup.channels import sms
from topup.db.models import Job, Order
from topup.domain.quotes import Quote
from topup.services import notifications, pay_links, selfcare
from topup.services.order_access import order_token

pytestmark = [pytest.mark.urls(__name__), pytest.mark.usefixtures("compiled_catalogues")]


@pytest.fixture
def promo_engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    return install(monkeypatch)


@pytest.fixture
def texts() -> Iterator[RecordingSms]:
    recorder = RecordingSms()  # the pay link's SMS, as the notify job sends it
    notifications.configure(sms=recorder)
    yield recorder
    notifications.configure()


def _frozen(order: Order) -> Quote:
    return Quote.from_dict(order.quote)


def test_sms_buy_with_a_code_in_dutch_is_paid_by_link_with_the_saving(
    seeded: None, carriers: Carriers, payments_simulator: str, promo_engine: FakeEngine
) -> None:
    msisdn = "+32470203140"
    give_credit(carriers, msisdn, 2000)  # enough credit: without a code it would be bought from credit
    reply = sms.handle_inbound(msisdn, f"koop {WEEK_5GB.lower()} code flyer5")
    assert promo_engine.codes[-1] == CODE
    assert carriers.balance_minor("proximus", msisdn) == 2000  # nothing debited at the operator
    order = Order.objects.get()
    assert [p.code for p in _frozen(order).promotions] == [CODE]
    assert (order.channel, order.language, order.total_minor) == ("sms", "nl", 999 - 500)
    assert reply.startswith("Flyer: € 5 korting - € 5,00. Te betalen: € 4,99. Betaal hier")
    assert "http" in reply
    assert "\u2212" not in reply  # GSM alphabet only: a Unicode minus would force UCS-2


@pytest.mark.parametrize(
    "case",
    [
        ("+32470203145", f"购买{WEEK_5GB}优惠码NOPE", "此优惠码无效"),
        ("+32470203146", f"KAUFEN {WEEK_5GB} GUTSCHEIN NOPE", "Dieser Gutscheincode ist unbekannt"),
        # BUY does not tell a language: the line's (Dutch until it chooses another)
        ("+32470203147", f"BUY {WEEK_5GB} USEDUP", "Deze kortingscode is al zo vaak gebruikt"),
    ],
    ids=["zh-unknown", "de-unknown", "used-up"],
)
def test_sms_a_refused_code_is_answered_in_the_line_language_and_nothing_is_created(
    seeded: None, carriers: Carriers, promo_engine: FakeEngine, case: tuple[str, str, str]
) -> None:
    msisdn, text, words = case
    give_credit(carriers, msisdn, 2000)
    reply = sms.handle_inbound(msisdn, text)
    assert reply.startswith(words), reply
    if text.startswith("购买"):
        assert not re.search(r"[A-Za-z]", reply), reply  # no English word in the Chinese answer
    assert not Order.objects.exists()
    assert carriers.balance_minor("proximus", msisdn) == 2000


@pytest.mark.parametrize(
    ("keyword", "syntax"),
    [
        ("HELP", "BUY <plan code> CODE <promo code>"),
        ("HULP", "KOOP <plancode> CODE <kortingscode>"),
        ("AIDE", "ACHAT <code du forfait> CODE <code promo>"),
        ("HILFE", "KAUFEN <Tarifcode> GUTSCHEIN <Gutscheincode>"),
        ("帮助", "购买 <代码> 优惠码 <优惠码>"),
    ],
)
def test_the_help_reply_tells_how_to_send_a_promo_code(seeded: None, keyword: str, syntax: str) -> None:
    msisdn = "+32470203150"  # a fresh database per test: the line's language is the keyword's
    if keyword == "HELP":
        selfcare.set_language(msisdn, "en")  # HELP tells no language: the line chose English
    assert syntax in sms.handle_inbound(msisdn, keyword)


def test_ussd_asks_for_a_code_shows_the_saving_and_sends_the_pay_link(
    seeded: None,
    carriers: Carriers,
    payments_simulator: str,
    promo_engine: FakeEngine,
    texts: RecordingSms,
) -> None:
    msisdn = "+32470203143"
    give_credit(carriers, msisdn, 2000)
    session = UssdSession("0470 20 31 43")
    key = key_of(msisdn, WEEK_5GB)
    with override("nl"):
        ask = pgettext("ussd", "Promo code? (0 = none)")
    assert session.send(f"5*{key}") == f"CON {ask}"
    confirm = session.send(f"5*{key}*flyer5")
    assert confirm.startswith("CON 5 GB · 7 dagen € 9,99\nFlyer: € 5 korting - € 5,00\n")
    assert "€ 4,99 betalen met je kaart?" in confirm
    assert confirm.endswith("1 Ja\n2 Nee")
    assert not Order.objects.exists()  # nothing is placed before the yes
    assert session.send(f"5*{key}*flyer5*2").startswith("END ")
    assert not Order.objects.exists()

    done = session.send(f"5*{key}*flyer5*1")
    assert done.startswith("END We stuurden je een betaallink per sms. Betaal daar € 4,99")
    again = session.send(f"5*{key}*flyer5*1")  # the gateway retried the same step
    assert again == done
    order = Order.objects.get()
    assert (order.channel, order.total_minor) == ("ussd", 499)
    assert [p.code for p in _frozen(order).promotions] == [CODE]
    assert carriers.balance_minor("proximus", msisdn) == 2000  # paid by card, not from credit
    subject = f"{pay_links.KIND}:{order.id}"
    assert Job.objects.filter(kind=notifications.JOB_KIND, subject_id=subject).count() == 1
    notify.send_one(subject, 1)
    [(to, text)] = texts.sent
    assert to == msisdn
    assert text.startswith("Betaal hier € 4,99 voor ")
    assert f"/orders/{order.id}?token={order_token(order.id)}" in text


def test_ussd_a_refused_code_is_said_and_asked_again_then_the_session_ends(
    seeded: None, carriers: Carriers, promo_engine: FakeEngine
) -> None:
    msisdn = "+32470203144"
    session = UssdSession("0470 20 31 44")
    key = key_of(msisdn, WEEK_5GB)
    with override("nl"):
        ask = pgettext("ussd", "Promo code? (0 = none)")
    refused = session.send(f"5*{key}*NOPE")
    assert (
        refused
        == f"CON Deze kortingscode kennen we niet. Controleer hoe je hem schreef en probeer opnieuw.\n{ask}"
    )
    assert session.send(f"5*{key}*NOPE*0").startswith("CON ")  # then no code: the credit purchase
    ended = session.send(f"5*{key}*NOPE*USEDUP*NOPE")
    with override("nl"):
        assert ended == f"END {pgettext('ussd', 'Too many invalid choices. Please dial again.')}"
    assert not Order.objects.exists()


def test_ussd_a_long_promotion_name_never_pushes_the_answers_off_the_screen(
    seeded: None, carriers: Carriers, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_name = tuple((language, "Winterkorting " * 20) for language in ("en", "nl"))
    engine = install(monkeypatch)
    engine.automatic = (dataclasses.replace(welcome_bonus(), names=long_name),)
    msisdn = "+32470203148"
    session = UssdSession("0470 20 31 48")
    confirm = session.send(f"5*{key_of(msisdn, WEEK_5GB)}*{CODE}")
    assert confirm.endswith("1 Ja\n2 Nee"), confirm
    assert "Winterkorting" in confirm
