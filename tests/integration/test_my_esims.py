"""My eSIMs through Django's test client on the real database: sign-in by a code e-mailed to the address an
eSIM was bought with (read from a recording mailer), wrong, expired and rate-limited codes, an answer that
never tells whether an address is known, strangers who cannot see or fetch another's eSIM or QR code, bars
and dates in Chinese without English or Dutch words, and "add data" up to the quote (and order) for that
ICCID."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import include, path

import topup.urls
from tests.integration.test_web_pages import compiled_catalogues  # noqa: F401  (autouse: compiles .mo)
from topup.channels.web import my_esims_views
from topup.clock import new_id, now
from topup.db.models import BundleRecord, Line, Notification, Order, OtpChallenge, PlanRecord, UsageRow
from topup.domain.identifiers import luhn_check_digit
from topup.domain.quotes import make_quote
from topup.services import notifications, orders

urlpatterns = [*topup.urls.urlpatterns, path("", include("topup.channels.web.urls"))]
pytestmark = pytest.mark.urls(__name__)

ALICE, BOB = "alice.wang@example.cn", "bob@example.be"


class RecordingMailer:
    """Test-only mail peer: the SMTP adapter has its own tests against a real SMTP server (aiosmtpd)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


@pytest.fixture
def mailer() -> Iterator[RecordingMailer]:
    recorder = RecordingMailer()
    notifications.configure(mailer=recorder)
    yield recorder
    notifications.configure()


def _iccid(serial: int) -> str:
    payload = f"894600000000{serial:06d}"
    return payload + luhn_check_digit(payload)


def _bought_esim(email: str, serial: int, *, state: str = "released", used_mb: int = 1536) -> Line:
    """A new-eSIM order, delivered, with its line (profile `state`) and a 5 GB bundle, as delivery leaves
    them."""
    plan = PlanRecord.objects.select_related("network").get(id="esim-7d-5gb")
    at = now()
    iccid = _iccid(serial)
    line = Line.objects.create(
        id=new_id("ln"), network=plan.network, iccid=iccid, matching_id=f"MATCH-{serial}",
        smdp_address="smdp.topup.test", profile_state=state, language="zh-hans", created_at=at, updated_at=at,
    )  # fmt: skip
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), "", guessed_network=None)
    order = Order.objects.create(
        id=new_id("ord"), plan=plan, network=plan.network, line=line, iccid=iccid, email=email, channel="api",
        language="zh-hans", status="delivered", total_minor=quote.total.amount_minor, currency=quote.currency,
        quote=quote.to_dict(), created_at=at, updated_at=at,
    )  # fmt: skip
    BundleRecord.objects.create(
        id=new_id("bdl"), line=line, plan=plan, order_id=order.id, data_kb=5 * 1024 * 1024,
        used_kb=used_mb * 1024, validity_days=7, purchased_at=at - timedelta(days=1),
        starts_at=at - timedelta(days=1), expires_at=at + timedelta(days=6), status="active",
    )  # fmt: skip
    UsageRow.objects.create(
        id=f"usage-{serial}", line=line, kb=used_mb * 1024, start=at - timedelta(hours=5),
        end=at - timedelta(hours=4), drawn_kb=used_mb * 1024, rated_at=at,
    )  # fmt: skip
    return line


def _csrf(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def _ask(client: Client, email: str, *, lang: str = "en", ip: str = "198.51.100.7") -> tuple[int, str, str]:
    page = client.get(f"/my/esims?lang={lang}").content.decode()
    answer = client.post("/my/esims", {"csrfmiddlewaretoken": _csrf(page), "email": email}, REMOTE_ADDR=ip)
    return answer.status_code, str(answer.get("Location", "")), answer.content.decode()


def _code_in(mailer: RecordingMailer) -> str:
    match = re.search(r"\b(\d{6})\b", mailer.sent[-1][2])
    assert match is not None, mailer.sent[-1]
    return match.group(1)


def _enter(client: Client, code: str) -> tuple[int, str, str]:
    page = client.get("/my/esims/code").content.decode()
    answer = client.post("/my/esims/code", {"csrfmiddlewaretoken": _csrf(page), "code": code})
    return answer.status_code, str(answer.get("Location", "")), answer.content.decode()


def _signed_in(email: str, mailer: RecordingMailer, *, lang: str = "en") -> Client:
    client = Client()
    assert _ask(client, email, lang=lang)[:2] == (302, "/my/esims/code")
    assert _enter(client, _code_in(mailer))[:2] == (302, "/my/esims")
    return client


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _visible(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_a_customer_signs_in_with_the_code_e_mailed_and_sees_the_esim(
    seeded: None, mailer: RecordingMailer
) -> None:
    line = _bought_esim(ALICE, 1)
    client = Client()

    status, location, _page = _ask(client, "  Alice.Wang@EXAMPLE.cn ")

    assert (status, location) == (302, "/my/esims/code")
    to, subject, _body = mailer.sent[-1]
    assert to == ALICE
    assert subject == "Your code for My eSIMs"
    code = _code_in(mailer)
    assert Notification.objects.get(channel="email", kind="otp").status == "sent"
    assert code not in str(OtpChallenge.objects.values_list("code_hash", flat=True).get())
    assert _enter(client, code)[:2] == (302, "/my/esims")

    page = client.get("/my/esims").content.decode()
    assert line.iccid in page
    assert 'max="100" value="30"' in page  # 1.5 GB of 5 GB used
    assert "3.5 GB of 5 GB left" in _visible(page)
    assert "Ready to install" in page
    assert f'src="/my/esims/{line.iccid}/qr.svg"' in page
    assert "LPA:1$smdp.topup.test$MATCH-1" in html.unescape(page)
    qr = client.get(f"/my/esims/{line.iccid}/qr.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    assert qr["Cache-Control"] == "no-store"
    # The code works once; the sign-out ends the session.
    assert OtpChallenge.objects.get().consumed_at is not None  # the code worked once
    page = client.get("/my/esims").content.decode()
    client.post("/my/esims/sign-out", {"csrfmiddlewaretoken": _csrf(page)})
    assert 'name="email"' in client.get("/my/esims").content.decode()
    assert client.get(f"/my/esims/{line.iccid}/qr.svg").status_code == 404


def test_an_unknown_address_gets_the_same_answer_and_no_code(seeded: None, mailer: RecordingMailer) -> None:
    _bought_esim(ALICE, 2)
    known = _ask(Client(), ALICE)
    unknown_client = Client()
    unknown = _ask(unknown_client, "nobody@example.org")

    assert known[:2] == unknown[:2] == (302, "/my/esims/code")
    assert [m[1] for m in mailer.sent] == ["Your code for My eSIMs"] * 2
    assert not re.search(r"\b\d{6}\b", mailer.sent[-1][2])
    assert "no eSIM was bought with it" in mailer.sent[-1][2]
    # Guessing a code for it fails like a wrong code, and locks after as many tries.
    status, _location, page = _enter(unknown_client, "123456")
    assert status == 422
    assert "Check the e-mail" in page
    assert OtpChallenge.objects.filter(email="nobody@example.org").count() == 1


def test_wrong_codes_are_refused_then_locked(seeded: None, mailer: RecordingMailer) -> None:
    _bought_esim(ALICE, 3)
    client = Client()
    _ask(client, ALICE)
    code = _code_in(mailer)

    for _ in range(5):
        status, _location, page = _enter(client, _wrong(code))
        assert status == 422
        assert "This code is not right. Check the e-mail and try again." in html.unescape(page)
    status, _location, page = _enter(client, code)  # right, but too late: the challenge is locked
    assert status == 422
    assert "Too many wrong codes. Ask for a new code." in html.unescape(page)
    assert "web_my_esims" not in client.session


def test_an_expired_code_is_refused(seeded: None, mailer: RecordingMailer) -> None:
    _bought_esim(ALICE, 4)
    client = Client()
    _ask(client, ALICE)
    OtpChallenge.objects.update(expires_at=now() - timedelta(seconds=1))

    status, _location, page = _enter(client, _code_in(mailer))

    assert status == 422
    assert "This code has expired. Ask for a new one." in page


def test_codes_are_rate_limited_per_address_and_per_client(seeded: None, mailer: RecordingMailer) -> None:
    _bought_esim(ALICE, 5)
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert _ask(Client(), ALICE, ip=ip)[0] == 302
    status, _location, page = _ask(Client(), ALICE, ip="198.51.100.4")
    assert status == 422
    assert "Too many codes were asked for." in page
    assert len(mailer.sent) == 3

    for n in range(10):  # one client, ten addresses: its hourly budget
        assert _ask(Client(), f"someone{n}@example.org", ip="203.0.113.9")[0] == 302
    assert _ask(Client(), "one.more@example.org", ip="203.0.113.9")[0] == 422


def test_a_bad_address_is_refused_next_to_the_field(seeded: None, mailer: RecordingMailer) -> None:
    status, _location, page = _ask(Client(), "not-an-address", lang="fr")
    assert status == 422
    assert 'aria-invalid="true"' in page
    assert 'id="email-error"' in page
    assert "This is not a valid e-mail address." not in page  # in French
    assert not mailer.sent
    assert not OtpChallenge.objects.exists()


def test_a_stranger_cannot_see_or_fetch_anothers_esim(seeded: None, mailer: RecordingMailer) -> None:
    alices = _bought_esim(ALICE, 6)
    bobs = _bought_esim(BOB, 7)
    # Bob topped up Alice's eSIM once, giving his address: that does not make the eSIM his.
    plan = PlanRecord.objects.select_related("network").get(id="esim-1d-1gb")
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), "", guessed_network=None)
    Order.objects.create(
        id=new_id("ord"), plan=plan, network=plan.network, line=alices, email=BOB, channel="web",
        language="en", status="delivered", total_minor=quote.total.amount_minor, currency=quote.currency,
        quote=quote.to_dict(), created_at=now(), updated_at=now(),
    )  # fmt: skip
    alice = _signed_in(ALICE, mailer)
    bob = _signed_in(BOB, mailer)

    bobs_page = bob.get("/my/esims").content.decode()
    assert bobs.iccid in bobs_page
    assert alices.iccid not in bobs_page
    for path_ in (f"/my/esims/{alices.iccid}/qr.svg", f"/my/esims/{alices.iccid}/add",
                  f"/my/esims/{alices.iccid}/auto", f"/my/esims/{_iccid(99)}/qr.svg"):  # fmt: skip
        assert bob.get(path_).status_code == 404, path_
    nobody = Client()
    assert nobody.get(f"/my/esims/{alices.iccid}/qr.svg").status_code == 404
    assert nobody.get(f"/my/esims/{alices.iccid}/add")["Location"] == "/my/esims"
    assert 'name="email"' in nobody.get("/my/esims").content.decode()
    # Alice's signed session value copied into another session proves nothing there.
    stolen = alice.session[my_esims_views.SIGNED_IN_KEY]
    session = nobody.session
    session[my_esims_views.SIGNED_IN_KEY] = stolen
    session.save()
    assert nobody.get(f"/my/esims/{alices.iccid}/qr.svg").status_code == 404
    assert alice.get(f"/my/esims/{alices.iccid}/qr.svg").status_code == 200


def test_the_session_is_short_lived(
    seeded: None, mailer: RecordingMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _bought_esim(ALICE, 8)
    client = _signed_in(ALICE, mailer)
    assert client.get(f"/my/esims/{line.iccid}/qr.svg").status_code == 200
    monkeypatch.setattr(my_esims_views, "SESSION_TTL_S", -1)  # as if 30 minutes had passed
    assert client.get(f"/my/esims/{line.iccid}/qr.svg").status_code == 404
    assert 'name="email"' in client.get("/my/esims").content.decode()


def test_an_installed_esim_shows_no_qr_code(seeded: None, mailer: RecordingMailer) -> None:
    line = _bought_esim(ALICE, 9, state="enabled")
    client = _signed_in(ALICE, mailer)
    page = client.get("/my/esims").content.decode()
    assert line.iccid in page
    assert "qr.svg" not in page
    assert "LPA:1$" not in page
    assert client.get(f"/my/esims/{line.iccid}/qr.svg").status_code == 404
    assert "Add data" in page


def test_bars_dates_and_states_in_chinese_have_no_english_or_dutch_words(
    seeded: None, mailer: RecordingMailer
) -> None:
    _bought_esim(ALICE, 10)
    client = _signed_in(ALICE, mailer, lang="zh-hans")
    page = client.get("/my/esims?lang=zh-hans").content.decode()
    assert '<html lang="zh-hans"' in page
    parts = re.findall(
        r'class="(?:bundle-left|muted bundle-dates|muted usage|esim-state|muted)"[^>]*>(.*?)</p>', page, re.S
    )
    parts += re.findall(r'class="esim-state"[^>]*>(.*?)</span>', page)
    text = _visible(" ".join(parts))
    assert "GB" in text, text
    assert re.search(r"\b20\d\d/\d{1,2}/\d{1,2} \d\d:\d\d\b", text), text  # as every page writes a moment
    assert "%" in text, text
    words = [w for w in re.findall(r"[A-Za-zÀ-ÿ]{3,}", text) if w != "ICCID"]
    assert not words, words
    # The plan's title comes from services.plan_text (helper "lang" translates it); the rest of the page:
    body = _visible(re.sub(r'<h3 class="bundle-title".*?</h3>', "", page.split("<main", 1)[1], flags=re.S))
    for english in ("left", "used", "Valid", "Bought", "Add data", "Auto-renew", "Sign out", "My eSIMs",
                    "Ready to install", "Install your eSIM", "januari", "geldig", "tot"):  # fmt: skip
        assert not re.search(rf"(?<!\w){english}(?!\w)", body), english


def test_add_data_leads_to_a_quote_and_an_order_for_that_iccid(
    seeded: None, mailer: RecordingMailer, payments_simulator: str
) -> None:
    line = _bought_esim(ALICE, 11, state="enabled")
    client = _signed_in(ALICE, mailer)

    answer = client.get(f"/my/esims/{line.iccid}/add")
    assert answer["Location"] == "/esim/topup/plans"
    page = client.get("/esim/topup/plans").content.decode()
    assert line.iccid in page
    assert 'value="esim-30d-20gb"' in page
    answer = client.post(
        "/esim/topup/plans", {"csrfmiddlewaretoken": _csrf(page), "plan_id": "esim-30d-20gb"}
    )
    assert answer["Location"] == "/esim/topup/review"
    review = client.get("/esim/topup/review").content.decode()
    expected = orders.quote(orders.QuoteRequest(plan_id="esim-30d-20gb", iccid=line.iccid))
    assert line.iccid in review
    assert re.search(r"19[.,]99", review)
    assert expected.total.amount_minor == 1999
    assert "error" not in review
    # Signed in to My eSIMs: the receipt's address is the one the eSIM was bought with, filled in.
    assert f'name="email" value="{ALICE}"' in review

    idem = re.search(r'name="idem" value="([^"]+)"', review)
    assert idem is not None
    form = {"csrfmiddlewaretoken": _csrf(review), "idem": idem.group(1), "payment_method": "card",
            "email": ALICE}  # fmt: skip
    paid = client.post("/esim/topup/review", form)
    assert paid.status_code == 302
    order = Order.objects.exclude(iccid=line.iccid).get(line=line)
    assert (order.plan_id, order.total_minor, order.status) == ("esim-30d-20gb", 1999, "awaiting_payment")
    assert order.email == ALICE  # so its receipt goes out


def test_the_auto_renew_slot_goes_to_the_top_up_with_auto_asked(
    seeded: None, mailer: RecordingMailer
) -> None:
    line = _bought_esim(ALICE, 12)
    client = _signed_in(ALICE, mailer)
    page = client.get("/my/esims").content.decode()
    assert f'href="/my/esims/{line.iccid}/auto"' in page
    assert client.get(f"/my/esims/{line.iccid}/auto")["Location"] == "/esim/topup/plans"
    assert client.session["web_esim_topup"] == {"iccid": line.iccid, "auto": "1", "email": ALICE}
    client.post("/esim/topup/plans", {"plan_id": "esim-30d-20gb"})
    review = client.get("/esim/topup/review").content.decode()
    assert 'value="renew" checked' in review  # the review step starts on "renew this bundle"


def test_home_and_my_line_link_to_my_esims(seeded: None) -> None:
    for url in ("/", "/my"):
        assert 'href="/my/esims"' in Client().get(url).content.decode(), url


# Every English text of the My eSIMs and add-data pages: none may show on a page in another language.
ENGLISH_UI = (
    "My eSIMs", "We send a code to the e-mail address you gave when you bought your eSIM.", "E-mail address",
    "Send me a code", "Have a Belgian number?", "Enter your code", "If an eSIM was bought with this address",
    "Sign in", "Send a new code", "eSIM status", "Ready to install", "Bought on", "left", "used",
    "Valid from", "Valid until", "Used in the last 30 days", "Install your eSIM", "QR code for your eSIM",
    "Activation code",
    "Add data", "Auto-renew", "Sign out", "Add data to an eSIM", "19 or 20 digits starting with 89",
    "Continue", "Change", "Check and pay", "For the eSIM", "Total to pay", "Pay now", "Back",
    "An eSIM without a number?", "Sign in with a code by e-mail", "This code is not right.",
)  # fmt: skip


@pytest.mark.parametrize("language", ["nl", "fr", "de", "zh-hans"])
def test_every_my_esims_page_is_translated(seeded: None, mailer: RecordingMailer, language: str) -> None:
    line = _bought_esim(ALICE, 20)
    client = Client()
    pages = {"/": client.get(f"/?lang={language}").content.decode()}
    _ask(client, ALICE, lang=language)
    pages["/my/esims/code"] = client.get("/my/esims/code").content.decode()
    pages["/my/esims/code (wrong)"] = _enter(client, _wrong(_code_in(mailer)))[2]
    assert _enter(client, _code_in(mailer))[1] == "/my/esims"
    pages["/my/esims"] = client.get("/my/esims").content.decode()
    pages["/esim/topup"] = client.get("/esim/topup").content.decode()
    client.get(f"/my/esims/{line.iccid}/add")
    pages["/esim/topup/plans"] = client.get("/esim/topup/plans").content.decode()
    client.post("/esim/topup/plans", {"plan_id": "esim-1d-1gb"})
    pages["/esim/topup/review"] = client.get("/esim/topup/review").content.decode()
    for url, page in pages.items():
        assert f'<html lang="{language}"' in page, (language, url)
        body = page.split("<main", 1)[1]
        body = re.sub(r'<h3 class="bundle-title".*?</h3>', " ", body, flags=re.S)  # plan_text's titles
        text = _visible(body)
        untranslated = [s for s in ENGLISH_UI if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text)]
        assert not untranslated, (language, url, untranslated)


def test_an_address_typed_on_a_chinese_keyboard_is_the_same_address(
    seeded: None, mailer: RecordingMailer
) -> None:
    line = _bought_esim(ALICE, 30)
    client = Client()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in ALICE)  # U+FF41 … as a Chinese keyboard types
    assert _ask(client, full_width)[:2] == (302, "/my/esims/code")
    assert mailer.sent[-1][0] == ALICE
    assert _enter(client, _code_in(mailer))[:2] == (302, "/my/esims")
    assert line.iccid in client.get("/my/esims").content.decode()


def test_a_cancelled_or_recycled_esim_gives_no_code_and_no_data(
    seeded: None, mailer: RecordingMailer
) -> None:
    cancelled = _bought_esim(ALICE, 31, state="cancelled")
    Order.objects.filter(line=cancelled).update(status="refunded")
    recycled = _bought_esim(ALICE, 32)
    # The SM-DP+ handed the ICCID to someone else: the line is archived under `<iccid>~<id>`
    Line.objects.filter(id=recycled.id).update(
        iccid=f"{recycled.iccid}~{recycled.id}", archived_iccid=recycled.iccid, archived_at=now()
    )
    client = _signed_in(ALICE, mailer)
    page = client.get("/my/esims").content.decode()
    assert cancelled.iccid in page
    assert "Cancelled before installation" in page
    assert "qr.svg" not in page
    assert "Add data" not in page
    assert recycled.iccid not in page
    for url in (f"/my/esims/{cancelled.iccid}/qr.svg", f"/my/esims/{recycled.iccid}/add"):
        assert client.get(url).status_code == 404, url
