"""The customer's language everywhere (issue #11, item 7): one set of plan titles composed from a plan's
facts, network brands, money and dates in the reader's locale on the web, by SMS, USSD and IVR and on the
payment page; euros and cents spoken in each language; digits from any keyboard; an empty number asks for
one; Dutch in one (informal) register."""

# ruff: noqa: RUF001 - full-width digits and letters are what these tests type, on purpose
from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from django.test import Client
from django.urls import include, path
from django.utils.translation import override
from hypothesis import given, settings
from hypothesis import strategies as st

import topup.urls
from tests.integration.conftest import Carriers
from tests.integration.test_buy_from_credit import give_credit
from tests.integration.test_external_bundles import carrier_line
from tests.integration.test_notifications import _delivering_order, _prefer
from tests.integration.test_ussd_ivr import Call, UssdSession, _action, _said, _voucher_pin
from tests.integration.test_web_journeys import _get, _post
from tests.integration.test_web_pages import compiled_catalogues  # noqa: F401  (autouse: compiles .mo)
from tests.support.orders import signed_in_token
from topup.channels import ivr, owners, phone_words, sms, ussd
from topup.db.models import NetworkRecord, Order, PlanRecord
from topup.domain.catalogue import Plan, PlanKind
from topup.domain.money import Money
from topup.services import catalogue, locale_text, notifications, plan_text

urlpatterns = [
    *topup.urls.urlpatterns, *ussd.urlpatterns, *ivr.urlpatterns, path("", include("topup.channels.web.urls"))
]  # fmt: skip
pytestmark = pytest.mark.urls(__name__)

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "topup" / "locale"
LANGUAGES = ("en", "nl", "fr", "de", "zh-hans")
CREDIT, BUNDLE = "proximus-credit-10", "proximus-data-7d-5gb"
TITLES = {
    "en": ("10\u00a0€ credit", "5 GB · 7 days"),
    "nl": ("€\u00a010 beltegoed", "5 GB · 7 dagen"),
    "fr": ("10\u00a0€ de crédit", "5 Go · 7 jours"),
    "de": ("10\u00a0€ Guthaben", "5 GB · 7 Tage"),
    "zh-hans": ("10欧元话费", "5 GB · 7 天"),
}
# Words a Chinese reader may meet in Latin letters: units, brands, our own name, codes and ids.
LATIN_ALLOWED = {"GB", "MB", "SMS", "Topup", "Proximus", "eSIM", "PIN", "ID", "EUR", "CNY"}
DUTCH_MONTHS = ("januari", "februari", "maart", "mei", "juni", "juli", "augustus", "oktober")
SPOKEN_402 = {
    "en": "4 euros and 2 cents",
    "nl": "4 euro 2 cent",
    "fr": "4 euros 2 centimes",
    "de": "4 Euro 2 Cent",
    "zh-hans": "4欧元2分",
}


def english_words(text: str, *ids: str) -> set[str]:
    """Latin-letter words of `text` that are not units, brands or the given ids (order ids, codes)."""
    for value in ids:
        text = text.replace(value, "")
    return {w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in LATIN_ALLOWED}


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


# ---- titles and brands --------------------------------------------------------------------------------


def test_plan_titles_are_composed_in_each_language(seeded: None) -> None:
    for language, (credit, bundle) in TITLES.items():
        assert plan_text.plan_title(CREDIT, language) == credit
        assert plan_text.plan_title(BUNDLE, language) == bundle
    assert plan_text.plan_title("esim-30d-unlimited", "fr") == "Illimité · 30 jours"
    assert plan_text.plan_title("esim-1d-1gb", "en") == "1 GB · 1 day"


def test_fractions_of_a_gigabyte_and_megabytes_in_the_languages_words() -> None:
    def bundle(data_mb: int, days: int) -> Plan:
        return Plan("x", "n", PlanKind.BUNDLE, "x", Money(100, "EUR"), data_mb=data_mb, validity_days=days)

    assert plan_text.title_of(bundle(1536, 3), "fr") == "1,5 Go · 3 jours"
    assert plan_text.title_of(bundle(500, 1), "fr") == "500 Mo · 1 jour"
    assert plan_text.title_of(bundle(1536, 1), "en") == "1,5 GB · 1 day"  # en_BE, like the prices
    assert plan_text.title_of(bundle(2048, 1), "zh-hans") == "2 GB · 1 天"


def test_the_six_credit_plans_have_six_titles_in_every_language(seeded: None) -> None:
    credit_plans = [p for p in catalogue.plans("proximus") if p.kind == "credit"]
    assert len(credit_plans) == 6
    for language in LANGUAGES:
        assert len({plan_text.title_of(p, language) for p in credit_plans}) == 6


def test_a_plan_or_network_taken_off_sale_keeps_its_title_and_brand(seeded: None) -> None:
    PlanRecord.objects.filter(id=BUNDLE).update(active=False)
    NetworkRecord.objects.filter(id="orange").update(active=False)
    catalogue.clear_cache()
    assert plan_text.plan_title(BUNDLE, "de") == "5 GB · 7 Tage"
    assert plan_text.network_brand("orange") == "Orange Belgium"


def test_the_api_gives_each_plan_its_title_in_the_asked_language(seeded: None) -> None:
    for language, (credit, bundle) in TITLES.items():
        plans = Client().get("/api/v1/plans?network=proximus", headers={"Accept-Language": language}).json()
        titles = {p["id"]: p["title"] for p in plans}
        assert (titles[CREDIT], titles[BUNDLE]) == (credit, bundle)


def test_network_brands_are_never_ids(seeded: None) -> None:
    brands = {n.id: plan_text.network_brand(n.id) for n in NetworkRecord.objects.all()}
    assert brands["proximus"] == "Proximus"
    assert brands["orange"] == "Orange Belgium"
    assert brands["base"] == "BASE"
    assert brands["telenet"] == "Telenet"
    assert all(brand != network_id for network_id, brand in brands.items() if network_id != "base")


def test_the_payment_page_shows_the_plan_title_and_the_number_masked(seeded: None) -> None:
    text = plan_text.payment_description(CREDIT, "+32470123456", "nl")
    assert text == "€\u00a010 beltegoed · +32 470 •• •• 56"
    assert plan_text.payment_description("esim-1d-1gb", "", "zh-hans") == "1 GB · 1 天"


def test_the_checkout_description_at_the_payment_provider(seeded: None, payments_simulator: str) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, "/topup?lang=zh-hans", expect="手机号码")
    _post(client, "/topup", page, {"msisdn": "0470 12 34 56"})
    page = _get(client, "/topup/network", expect="Proximus")
    _post(client, "/topup/network", page, {"network": "proximus"})
    page = _get(client, "/topup/plans?kind=credit", expect="10欧元话费")
    _post(client, "/topup/plans", page, {"plan_id": CREDIT})
    page = _get(client, "/topup/review", expect="10欧元话费")
    idem = re.search(r'name="idem" value="([^"]+)"', page)
    assert idem is not None
    checkout = _post(client, "/topup/review", page, {"payment_method": "card", "idem": idem.group(1)})
    shown = httpx.get(checkout, timeout=10).text
    assert "10欧元话费 · +32 470 •• •• 56" in shown
    assert CREDIT not in shown
    assert "+32470123456" not in shown


# ---- money and dates ------------------------------------------------------------------------------------


def test_ivr_speaks_four_euros_two_in_each_language() -> None:
    for language, words in SPOKEN_402.items():
        with override(language):
            assert phone_words.money_spoken(Money(402, "EUR")) == words
    with override("en"):
        assert phone_words.money_spoken(Money(101, "EUR")) == "1 euro and 1 cent"
        assert phone_words.money_spoken(Money(50, "EUR")) == "50 cents"
        assert phone_words.money_spoken(Money(1000, "EUR")) == "10 euros"


SPOKEN_SHAPE = {
    "en": r"(\d+ euros?)( and \d+ cents?)?|\d+ cents?",
    "nl": r"(\d+ euro)( \d+ cent)?|\d+ cent",
    "fr": r"(\d+ euros?)( \d+ centimes?)?|\d+ centimes?",
    "de": r"(\d+ Euro)( \d+ Cent)?|\d+ Cent",
    "zh-hans": r"(\d+欧元)(\d+分)?|\d+分",
}


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000_000), st.sampled_from(LANGUAGES))
def test_every_amount_is_spoken_as_euros_and_cents(amount_minor: int, language: str) -> None:
    euros, cents = divmod(amount_minor, 100)
    with override(language):
        words = phone_words.money_spoken(Money(amount_minor, "EUR"))
    assert re.fullmatch(SPOKEN_SHAPE[language], words), words
    numbers = [int(n) for n in re.findall(r"\d+", words)]
    expected = [n for n in (euros, cents) if n] or [0]
    assert numbers == expected  # no decimal point, no digit lost: "4 euros 2" is gone
    if language == "en":  # singular and plural agree with the number
        assert re.search(r"\b1 euro\b(?!s)", words) is not None or euros != 1
        assert words.endswith("cents") == (cents > 1)


def test_dates_follow_the_language_not_the_server() -> None:
    from datetime import date  # noqa: PLC0415

    may = date(2027, 5, 28)
    assert locale_text.day(may, "zh-hans") == "2027年5月28日"
    assert locale_text.day(may, "fr") == "28 mai 2027"
    assert locale_text.day(may, "nl") == "28 mei 2027"
    assert locale_text.day("2027-05-28T22:30:00+00:00", "en") == "29 May 2027"  # Brussels time


# ---- every channel, per language ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sms_receipt_names_the_plan_in_the_lines_language(seeded: None, language: str) -> None:
    for n, plan_id in enumerate((CREDIT, BUNDLE)):
        msisdn = f"+3247100{LANGUAGES.index(language)}{n}99"
        _prefer(msisdn, language)
        order = _delivering_order(msisdn, plan_id)
        message = notifications.render("receipt", order.id)
        assert message is not None
        assert message.language == language
        assert TITLES[language][n] in message.text
        if language == "zh-hans":
            assert english_words(message.text, order.id) == set(), message.text
        if language == "fr":
            assert not any(month in message.text for month in DUTCH_MONTHS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_ussd_plan_menu_in_each_language(seeded: None, language: str) -> None:
    msisdn = f"+3247020{LANGUAGES.index(language)}901"
    _prefer(msisdn, language)
    reply = UssdSession(msisdn).send("3")
    credit, bundle = (plain(t) for t in TITLES[language])
    assert credit in reply
    assert bundle in reply
    assert "\u00a0" not in reply  # the GSM alphabet has no no-break space
    if language == "zh-hans":
        assert english_words(reply.removeprefix("END "), phone_words.site_address()) == set(), reply


@pytest.mark.parametrize(("key", "language"), sorted(phone_words.LANGUAGE_KEYS.items()))
def test_the_ivr_plan_prompt_in_each_language(seeded: None, key: str, language: str) -> None:
    call = Call(f"+3247020{key}902")
    menu = call.post(_action(call.start()), key)
    said = _said(call.post(_action(menu), "3"))
    credit, bundle = (phone_words.spoken(plain(t)) for t in TITLES[language])
    assert credit in said
    assert bundle in said
    with override(language):
        assert phone_words.money_spoken(Money(999, "EUR")) in said
    if language == "zh-hans":
        site = phone_words.site_address()
        assert english_words(said, site) == set(), said


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_web_plan_list_in_each_language(seeded: None, language: str) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, f"/topup?lang={language}", expect='name="msisdn"')
    _post(client, "/topup", page, {"msisdn": "0470 12 34 56"})
    page = _get(client, "/topup/network", expect="Proximus")
    _post(client, "/topup/network", page, {"network": "proximus"})
    page = _get(client, "/topup/plans", expect=TITLES[language][0])
    assert TITLES[language][1] in page
    titles = re.findall(r'class="plan"[^>]*><span><strong>([^<]+)</strong>([^<]*)</span>', page)
    assert len(titles) >= 10
    assert len({title for title, _detail in titles}) == len(titles)  # no two plans share a title
    if language == "zh-hans":
        shown = " ".join(f"{title} {detail}" for title, detail in titles)
        assert english_words(shown) == set(), shown


def test_my_line_dates_are_in_the_pages_language(seeded: None, carriers: Carriers) -> None:
    msisdn = "+32470203130"
    give_credit(carriers, msisdn, 1500)  # the carrier renews the line's validity
    valid_until = carrier_line(carriers, msisdn)["valid_until"]
    client = Client()
    session = client.session
    session[owners.SESSION_LINE_TOKEN] = signed_in_token(msisdn)
    session.save()
    for language, words in (("zh-hans", "有效期至"), ("fr", "Valable jusqu")):
        page = html.unescape(client.get(f"/my?lang={language}").content.decode())
        assert f"{words}" in page, page
        assert locale_text.day(valid_until, language) in page
        assert "Valid until" not in page
        assert not any(f" {month} " in page for month in DUTCH_MONTHS)
        assert locale_text.money(Money(1500, "EUR"), language) in page


# ---- digits from any keyboard, and an empty field --------------------------------------------------------

FULL_WIDTH_NUMBER = "０４７０ １２ ３４ ５６"


def test_full_width_digits_on_the_web_and_the_api(seeded: None) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, "/topup?lang=zh-hans", expect='name="msisdn"')
    assert _post(client, "/topup", page, {"msisdn": FULL_WIDTH_NUMBER}) == "/topup/network"
    body = {"plan_id": CREDIT, "msisdn": FULL_WIDTH_NUMBER}
    answer = Client().post("/api/v1/quotes", body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["msisdn"] == "+32470123456"
    arabic = Client().post(
        "/api/v1/quotes", {**body, "msisdn": "٠٤٧٠١٢٣٤٥٦"}, content_type="application/json"
    )
    assert arabic.status_code == 200, arabic.content


def test_full_width_digits_by_sms(seeded: None) -> None:
    pin = _voucher_pin()
    full_width = "".join(chr(0xFF10 + int(d)) for d in pin)
    reply = sms.handle_inbound("+32470203140", f"充值 {full_width}")
    assert Order.objects.filter(msisdn="+32470203140", channel="sms").count() == 1, reply


@pytest.mark.parametrize(
    ("language", "words"), [("en", "Please enter a number."), ("zh-hans", "请输入号码。")]
)
def test_an_empty_number_asks_for_one(seeded: None, language: str, words: str) -> None:
    client = Client(enforce_csrf_checks=True)
    page = _get(client, f"/topup?lang={language}", expect='name="msisdn"')
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    answer = client.post("/topup", {"csrfmiddlewaretoken": token.group(1), "msisdn": "  "})
    assert answer.status_code == 422
    assert words in answer.content.decode()
    api = Client().post("/api/v1/quotes", {"plan_id": CREDIT, "msisdn": ""}, content_type="application/json")
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "msisdn_required"


# ---- one register in Dutch -------------------------------------------------------------------------------


def test_dutch_says_je_never_u_or_uw() -> None:
    with (LOCALE_DIR / "nl" / "LC_MESSAGES" / "django.po").open("rb") as po:
        catalog = read_po(po)
    formal = re.compile(r"\b(u|uw|U|Uw)\b")
    found = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        found.extend(s for s in strings if s and formal.search(s))
    assert found == []
