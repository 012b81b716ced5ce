"""USSD and IVR through HTTP, as a gateway and a telephony platform drive them: balance from the carrier
simulator, language changes, voucher redemption and its refusal, the 182-character cap, TwiML, VoiceXML."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import override_settings
from django.utils.translation import override, pgettext

from tests.support.gateways import GatewayClient
from topup import urls as topup_urls
from topup.channels import ivr, phone_words, ussd
from topup.channels.messages import MESSAGES
from topup.db.models import Order
from topup.domain.money import Money
from topup.services import selfcare, vouchers

urlpatterns = [*topup_urls.urlpatterns, *ussd.urlpatterns, *ivr.urlpatterns]
pytestmark = pytest.mark.urls(__name__)

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "topup" / "locale"
VXML = f"{{{ivr.VXML_NS}}}"


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues() -> Iterator[None]:
    """The .mo files are git-ignored build products: compile stale ones (atomically), then reset Django's
    translation caches by re-entering the same setting."""
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            tmp = po.with_name(f"django.{os.getpid()}.tmp.mo")
            with tmp.open("wb") as target:
                write_mo(target, catalog)
            tmp.replace(mo)
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


def _voucher_pin(plan_id: str = "proximus-credit-10") -> str:
    _batch, pairs = vouchers.generate_batch("proximus", plan_id, 1)
    return pairs[0][1]


class UssdSession:
    def __init__(self, phone: str, service_code: str = "*111#") -> None:
        self.client, self.phone, self.service_code = GatewayClient(), phone, service_code
        self.replies: list[str] = []

    def send(self, text: str, service_code: str | None = None) -> str:
        form = {"sessionId": "ATUid_1", "serviceCode": service_code or self.service_code}
        fields = form | {"phoneNumber": self.phone, "text": text}
        response = self.client.gateway_post("/channels/ussd", fields)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        reply = response.content.decode()
        assert reply.startswith(("CON ", "END "))
        assert len(reply) <= ussd.MAX_REPLY_CHARS
        self.replies.append(reply)
        return reply


def _words(lang: str, context: str, message: str) -> str:
    with override(lang):
        return pgettext(context, message)


def test_ussd_balance_language_and_voucher(seeded: None, carriers: Any) -> None:
    session = UssdSession("+32470 20 31 01")
    menu = session.send("")
    assert menu.startswith("CON ")
    assert f"1 {_words('nl', 'ussd', 'Balance')}" in menu  # a new line is answered in Dutch

    balance = session.send("1")
    assert balance.startswith("END ")
    assert "0,00" in balance  # the carrier simulator's balance of a line it has never seen

    languages = session.send("4")
    assert languages.startswith("CON ")
    assert "5 中文" in languages
    changed = session.send("4*5")
    assert changed == f"END {_words('zh-hans', 'ussd', 'Language changed to English.')}"
    assert changed != f"END {_words('en', 'ussd', 'Language changed to English.')}"
    chinese_menu = session.send("")
    assert f"2 {_words('zh-hans', 'ussd', 'Redeem voucher')}" in chinese_menu
    assert chinese_menu.startswith("CON ")

    pin = _voucher_pin()
    assert session.send("2") == f"CON {_words('zh-hans', 'ussd', 'Enter your voucher PIN:')}"
    redeemed = session.send(f"2*{pin}")
    order = Order.objects.get(msisdn="+32470203101")
    assert (order.channel, order.total_minor, order.status) == ("ussd", 1000, "paid")
    assert redeemed.startswith("END ")
    assert order.id[-8:] in redeemed
    with override("zh-hans"):
        assert phone_words.money_short(Money(1000, "EUR")) in redeemed
        already_used = phone_words.error_text("voucher_already_used")
    with override("en"):
        assert already_used != phone_words.error_text("voucher_already_used")  # translated

    again = session.send("", service_code=f"*121*{pin}#")  # Proximus Pay&Go style: the PIN in the code
    assert again == ussd.fit(f"END {already_used}")
    assert Order.objects.filter(msisdn="+32470203101").count() == 1


def test_ussd_direct_code_redeems_and_invalid_answers_end_the_session(seeded: None) -> None:
    session = UssdSession("0470 20 31 02")
    pin = _voucher_pin()
    reply = session.send("", service_code=f"*121*{pin}#")
    order = Order.objects.get(msisdn="+32470203102")
    assert reply.startswith("END ")
    assert order.id[-8:] in reply

    assert session.send("7").startswith(f"CON {_words('nl', 'ussd', 'Invalid choice.')}")
    assert session.send("7*8").startswith("CON ")
    assert (
        session.send("7*8*9") == f"END {_words('nl', 'ussd', 'Too many invalid choices. Please dial again.')}"
    )
    assert session.send("7*1").startswith("END ")  # a wrong key, then a right one, still works

    refused = session.send("2*1234")
    with override("nl"):
        assert refused == ussd.fit(f"END {phone_words.error_text('invalid_pin_format')}")


@pytest.mark.parametrize(
    "code", ["voucher_unknown", "voucher_already_used", "voucher_locked_out", "invalid_pin_format"]
)
def test_voucher_refusals_have_their_own_wording(code: str) -> None:
    """Each refusal has its own wording in every channel (no generic apology for a known reason)."""
    assert code in MESSAGES


def test_ussd_replies_are_cut_to_182_characters(seeded: None) -> None:
    plans = UssdSession("+32470 20 31 03").send("3")
    shown = plans.removeprefix("END ").splitlines()
    codes = [code for code, _name, _price in selfcare.plans_for("+32470203103")]
    assert len(shown) >= 4
    assert [line.split()[0] for line in shown[:-1]] == codes[
        : len(shown) - 1
    ]  # cheapest first, as many as fit
    with override("nl"):  # where to buy, always, in the line's language
        assert plans.endswith(phone_words.buy_online_text(phone_words.site_address()))

    long_text = "END " + "word " * 100
    cut = ussd.fit(long_text)
    assert len(cut) == 182 or (len(cut) <= 182 and cut.endswith("..."))
    assert cut.endswith("...")
    assert cut.startswith("END word word")
    chinese = ussd.fit("END " + "余额" * 200)
    assert len(chinese) == 182
    assert chinese.endswith("...")
    assert ussd.fit("END short") == "END short"


# ---------------------------------------------------------------- IVR


class Call:
    """A phone call as the telephony platform makes it: post, read the XML, follow the prompt's action."""

    def __init__(self, caller: str, entry: str = "/channels/ivr/voice") -> None:
        self.client, self.caller, self.entry = GatewayClient(), caller, entry

    def post(self, url: str, digits: str | None = None) -> ET.Element:
        form = {"CallSid": "CA0001", "From": self.caller} | ({"Digits": digits} if digits is not None else {})
        response = self.client.gateway_post(url, form)
        assert response.status_code == 200
        assert b"<?xml" in response.content[:40]
        return ET.fromstring(response.content)  # well-formed, or this raises

    def start(self) -> ET.Element:
        return self.post(self.entry)


def _action(twiml: ET.Element) -> str:
    gather = twiml.find("Gather")
    assert gather is not None
    return gather.attrib["action"]


def _said(twiml: ET.Element) -> str:
    return " ".join(say.text or "" for say in twiml.iter("Say"))


def test_ivr_twiml_balance_and_voucher(seeded: None, carriers: Any) -> None:
    call = Call("+32470203104")
    welcome = call.start()
    assert welcome.tag == "Response"
    assert {say.attrib["language"] for say in welcome.iter("Say")} == {
        "nl-BE",
        "fr-BE",
        "de-DE",
        "en-GB",
        "zh-CN",
    }
    assert "step=language" in _action(welcome)

    menu = call.post(_action(welcome), "4")  # English
    assert "step=menu" in _action(menu)
    assert "press 1" in _said(menu)

    balance = call.post(_action(menu), "1")
    assert "Your credit is 0 euros." in _said(balance)
    assert {say.attrib["language"] for say in balance.iter("Say")} == {"en-GB"}

    pin_prompt = call.post(_action(balance), "2")
    gather = pin_prompt.find("Gather")
    assert gather is not None
    assert (gather.attrib["finishOnKey"], gather.attrib["numDigits"]) == ("#", "16")

    done = call.post(_action(pin_prompt), _voucher_pin() + "#")
    assert "10 euros" in _said(done)
    assert done.find("Hangup") is not None
    assert Order.objects.get(msisdn="+32470203104").channel == "ivr"


def test_ivr_money_is_read_as_words() -> None:
    with override("nl"):
        assert phone_words.money_spoken(Money(1050, "EUR")) == "10 euro 50 cent"
        assert phone_words.money_spoken(Money(1000, "EUR")) == "10 euro"
    with override("fr"):
        assert phone_words.money_spoken(Money(250, "EUR")) == "2 euros 50 centimes"


def test_ivr_hangs_up_after_three_bad_keys(seeded: None) -> None:
    call = Call("+32470203105")
    prompt = call.post(_action(call.start()), "2")  # French
    assert "step=menu" in _action(prompt)
    for _ in range(2):
        prompt = call.post(_action(prompt), "7")
        assert prompt.find("Gather") is not None
        assert "tries=" in _action(prompt)
    silent = call.post(_action(prompt))  # no key at all counts as a try too
    assert silent.find("Gather") is None
    assert silent.find("Hangup") is not None
    assert {say.attrib["language"] for say in silent.iter("Say")} == {"fr-BE"}


def test_ivr_voicexml_renders_the_same_dialogue(seeded: None) -> None:
    call = Call("+32470203106", entry="/channels/ivr/vxml")
    welcome = call.start()
    assert welcome.tag == f"{VXML}vxml"
    assert welcome.attrib["version"] == "2.1"
    field = welcome.find(f"{VXML}form/{VXML}field")
    assert field is not None
    items = [item.text for item in field.iter(f"{VXML}item")]
    assert items == ["1", "2", "3", "4", "5"]
    submit = field.find(f"{VXML}filled/{VXML}submit")
    assert submit is not None
    assert "step=language" in submit.attrib["next"]

    menu = call.post(submit.attrib["next"], "3")  # German
    prompts = " ".join(p.text or "" for p in menu.iter(f"{VXML}prompt"))
    assert prompts
    assert {p.attrib["{http://www.w3.org/XML/1998/namespace}lang"] for p in menu.iter(f"{VXML}prompt")} == {
        "de-DE"
    }
    field = menu.find(f"{VXML}form/{VXML}field")
    assert field is not None
    submit = field.find(f"{VXML}filled/{VXML}submit")
    assert submit is not None
    pin_prompt = call.post(submit.attrib["next"], "2")
    field = pin_prompt.find(f"{VXML}form/{VXML}field")
    assert field is not None
    grammar = field.find(f"{VXML}grammar")
    assert grammar is not None
    assert grammar.attrib["src"].endswith("maxlength=16")
    termchar = field.find(f"{VXML}property")
    assert termchar is not None
    assert termchar.attrib == {"name": "termchar", "value": "#"}
