"""The e-mail receipt, read from a real SMTP server on loopback (aiosmtpd): HTML + text + PDF in the order's
language with the promotion, the VAT split, the method and the yuan amount; a new eSIM's e-mail with its QR
code (decoded), the manual details and the install steps; sent once; a bad address refused at the door."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime

import httpx
import pytest
import zxingcpp
from babel.numbers import format_currency
from django.db import transaction
from django.test import Client
from django.utils import translation
from PIL import Image

from tests.integration.conftest import run_jobs_until_idle
from tests.integration.test_esim import buy_esim, esim_world  # noqa: F401 (a fixture)
from tests.integration.test_notifications import (  # noqa: F401  (fixtures: catalogues, SMS, SMTP)
    Inbox,
    RecordingSms,
    _deliver,
    compiled_catalogues,
    sms,
    smtp_inbox,
)
from tests.support import notify
from topup.clock import new_id, now
from topup.db.models import Notification, Order, OrderEvent, Payment, PlanRecord
from topup.domain.fx import FxQuote
from topup.domain.money import Money, split_vat
from topup.domain.orders import OrderStatus
from topup.domain.promotions import AppliedPromotion
from topup.domain.quotes import commission_of, make_quote
from topup.services import notifications
from topup.services.order_receipts import METHOD_NAMES
from topup.services.plan_text import plan_title
from topup.services.receipts.content import BABEL_LOCALES
from topup.settings import CONFIG

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = ("en", "nl", "fr", "de", "zh-hans")
PROMOTION_NAMES = {
    "en": "First top-up: 20% off",
    "nl": "Eerste herlading: 20% korting",
    "fr": "Première recharge : 20 % de remise",
    "de": "Erste Aufladung: 20 % Rabatt",
    "zh-hans": "首次充值八折",
}
FX = FxQuote(
    amount=Money(6240, "CNY"), rate=Decimal("7.6000"), source="ECB", rate_date=date(2026, 12, 3),
    markup_bp=200, valid_until=datetime(2026, 12, 4, 22, 0, tzinfo=UTC), charge_currency="EUR",
)  # fmt: skip


def _money(amount: Money, language: str) -> str:
    """As the receipt prints it: Babel's format with plain spaces (services/receipts/content)."""
    text = format_currency(amount.as_decimal(), amount.currency, locale=BABEL_LOCALES[language])
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def _promoted_alipay_order(language: str, email: str) -> Order:
    """A €10 Proximus credit top-up with a first top-up discount of €2, paid by Alipay (yuan shown)."""
    plan = PlanRecord.objects.select_related("network").get(id="proximus-credit-10")
    network = plan.network.to_domain()
    base = make_quote(plan.to_domain(), network, "+32471000103", guessed_network=None)
    saving = Money(200, "EUR")
    total = base.price - saving
    split = split_vat(total)
    commission = commission_of(split.net, network.commission_bp)
    promotion = AppliedPromotion(
        campaign_id="cmp_first", rule="first_topup", name=PROMOTION_NAMES["en"], saving=saving,
        names=tuple(PROMOTION_NAMES.items()),
    )  # fmt: skip
    quote = replace(
        base, discount=saving, total=total, net=split.net, vat=split.vat, commission=commission,
        carrier_amount=split.net - commission, fx=FX, promotions=(promotion,),
    )  # fmt: skip
    at = now()
    order = Order.objects.create(
        id=new_id("ord"), plan=plan, network=plan.network, msisdn=quote.msisdn, channel="web",
        language=language, status=OrderStatus.DELIVERING.value, total_minor=total.amount_minor,
        currency="EUR", quote=quote.to_dict(), created_at=at, updated_at=at, email=email,
        current_payment_id=new_id("pay"),
    )  # fmt: skip
    Payment.objects.create(
        id=order.current_payment_id, order=order, provider="stripe", method="alipay", status="succeeded",
        amount_minor=total.amount_minor, currency="EUR", created_at=at, updated_at=at,
    )  # fmt: skip
    OrderEvent.objects.create(order=order, from_status="paid", to_status="delivering", at=at)
    return order


def _parts(mail: Message) -> tuple[str, str, dict[str, bytes], dict[str, bytes]]:
    """(plain text, HTML, inline parts by content id, attachments by file name)."""
    assert isinstance(mail, EmailMessage)
    text = html = ""
    inline: dict[str, bytes] = {}
    attached: dict[str, bytes] = {}
    for part in mail.walk():
        if part.is_multipart():
            continue
        content_id = str(part.get("Content-ID", "")).strip("<>")
        if content_id:
            inline[content_id] = part.get_payload(decode=True)
        elif part.get_content_disposition() == "attachment":
            attached[str(part.get_filename())] = part.get_payload(decode=True)
        elif part.get_content_type() == "text/html":
            html = part.get_content()
        elif part.get_content_type() == "text/plain":
            text = part.get_content()
    return text, html, inline, attached


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)}


def test_the_receipt_mail_in_each_language(
    seeded: None,
    sms: RecordingSms,  # noqa: F811 - the fixture imported above
    smtp_inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, _port = smtp_inbox
    orders = {lang: _promoted_alipay_order(lang, f"klant-{lang}@example.com") for lang in LANGUAGES}
    for order in orders.values():
        _deliver(order)
    run_jobs_until_idle()

    mails = {str(m["To"]): m for m in inbox.messages}
    assert len(inbox.messages) == len(LANGUAGES)
    texts = {}
    for language, order in orders.items():
        mail = mails[f"klant-{language}@example.com"]
        text, html, _inline, attached = _parts(mail)
        quote_total = Money(order.total_minor, "EUR")
        split = split_vat(quote_total)
        with translation.override(language):
            method = str(METHOD_NAMES["alipay"])
        saved = "\u2212 " + _money(Money(200, "EUR"), language)
        wanted = [
            order.id, plan_title(order.plan_id, language), _money(split.net, language),
            _money(split.vat, language), _money(quote_total, language), method, PROMOTION_NAMES[language],
            saved, _money(FX.amount, language),
        ]  # fmt: skip
        for expected in wanted:
            assert expected in html, (language, expected)
            assert expected in text, (language, expected)
        assert html.lstrip().startswith("<!DOCTYPE html>")
        assert 'name="viewport"' in html
        assert attached[f"receipt-{order.id}.pdf"].startswith(b"%PDF")
        texts[language] = f"{mail['Subject']}\n{text}\n{re.sub(r'<[^>]+>', ' ', html)}"
    assert mails["klant-zh-hans@example.com"]["Subject"] == "您的充值已到账"

    # No English word on the Chinese receipt: every word of the English one that is not data (the shop's
    # name and address, the network's brand, ids, addresses) is missing from the Chinese one.
    data_words = _words(" ".join([
        *(o.id for o in orders.values()), "Topup shop Rue Neuve Bruxelles Proximus ECB PDF VAT BE",
        plan_title("proximus-credit-10", "en"), "klant example com", "http localhost testserver",
    ]))  # fmt: skip
    english = _words(texts["en"]) - data_words
    assert {"receipt", "paid", "total", "delivered"} <= english  # the check has words to look for
    assert english & _words(texts["zh-hans"]) == set()

    # The job run again sends nothing more.
    for order in orders.values():
        assert notify.send_one(f"receipt:{order.id}", 2).done
    assert len(inbox.messages) == len(LANGUAGES)
    assert Notification.objects.filter(channel="email", status="sent").count() == len(LANGUAGES)


def test_a_refund_sends_a_refund_notice_with_the_return_receipt(
    seeded: None,
    sms: RecordingSms,  # noqa: F811 - the fixture imported above
    smtp_inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, _port = smtp_inbox
    order = _promoted_alipay_order("fr", "client@example.com")
    at = now() + timedelta(seconds=1)
    with transaction.atomic():  # the refund itself is services/refunds' (tested there): here, its notice
        Order.objects.filter(id=order.id).update(status="refunded", updated_at=at)
        notifications.order_changed(order, OrderStatus.REFUNDED, at)
    run_jobs_until_idle()

    (mail,) = inbox.messages
    text, html, _inline, attached = _parts(mail)
    assert mail["Subject"] == "Votre remboursement"
    assert "REMBOURSEMENT" in text.upper()
    assert order.id in html
    assert attached[f"receipt-{order.id}.pdf"].startswith(b"%PDF")


@pytest.fixture
def esim_mail(
    esim_world: httpx.Client,  # noqa: F811 - the fixture imported above
    sms: RecordingSms,  # noqa: F811
    smtp_inbox: tuple[Inbox, int],  # noqa: F811
) -> tuple[httpx.Client, Inbox]:
    return esim_world, smtp_inbox[0]


def test_the_esim_mail_carries_a_qr_code_that_installs_it(
    esim_mail: tuple[httpx.Client, Inbox], caplog: pytest.LogCaptureFixture
) -> None:
    client, inbox = esim_mail
    caplog.set_level(logging.DEBUG)
    order = buy_esim(client, "esim-1d-1gb", "mail-1", email="Li\uff20例子\uff0e中国", language="zh-hans")
    assert order["status"] == "delivered"
    assert Order.objects.get(id=order["id"]).email == "li@例子.中国"  # canonical: NFKC, lower case, Unicode

    (mail,) = inbox.messages
    code = order["esim"]["activation_code"]
    assert str(mail["To"]) == "li@xn--fsqu00a.xn--fiqs8s"  # the domain in IDNA for the relay
    assert mail["Subject"] == "您的 eSIM 已准备就绪"
    assert code not in str(mail["Subject"])
    assert order["esim"]["matching_id"] not in str(mail["Subject"])
    text, html, inline, attached = _parts(mail)
    assert 'src="cid:esim-qr@topup"' in html
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(inline["esim-qr@topup"])))
    assert [d.text for d in decoded] == [code]
    assert code.startswith("LPA:1$")
    assert "esim-qr.png" not in attached  # inline in the HTML, not offered a second time as a file
    qr_part = next(p for p in mail.walk() if p.get("Content-ID") == "<esim-qr@topup>")
    assert qr_part.get_content_disposition() == "inline"
    assert attached[f"receipt-{order['id']}.pdf"].startswith(b"%PDF")
    assert mail["Date"] is not None
    assert parsedate_to_datetime(str(mail["Date"])).tzinfo is not None
    assert re.fullmatch(r"<[^<>@\s]+@topup\.[a-z]+>", str(mail["Message-ID"])), mail["Message-ID"]
    for part in (text, html):  # no number to sign in to My line with: My eSIMs is where it is followed
        assert f"{CONFIG.public_url}/my/esims" in part
        assert not re.search(re.escape(f"{CONFIG.public_url}/my") + r"(?!/esims)", part)
    for part in (text, html):
        assert order["esim"]["smdp_address"] in part
        assert order["esim"]["matching_id"] in part
        assert "iPhone" in part
        assert "Android" in part
        assert "设置" in part  # the install steps, in Chinese
    assert "¥" in html  # paid with Alipay: the yuan amount that was shown
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.")]  # not the sink's own
    assert ours
    assert not [m for m in ours if code in m or order["esim"]["matching_id"] in m]


def test_an_invalid_email_is_refused_and_nothing_is_created(
    esim_mail: tuple[httpx.Client, Inbox],
) -> None:
    client, inbox = esim_mail
    for bad in ("li@", "li@localhost", "li @example.com", "li@1.2.3.4", "a@b..c", "x" * 250 + "@example.com"):
        body = {"plan_id": "esim-1d-1gb", "payment_method": "card", "email": bad, "language": "de"}
        refused = client.post(
            "/api/v1/esim/orders",
            json=body,
            headers={"Idempotency-Key": f"bad-{len(bad)}", "Accept-Language": "de"},
        )
        assert refused.status_code in (400, 422), (bad, refused.text)
        error = refused.json()["error"]
        assert error["code"] in {"invalid_email", "invalid_request"}, bad
        if error["code"] == "invalid_email":
            assert "E-Mail" in error["message"]  # the German wording
    assert Order.objects.count() == 0
    assert Payment.objects.count() == 0
    assert inbox.messages == []


def test_the_website_asks_an_esim_buyer_for_an_email_address(seeded: None) -> None:
    browser = Client()
    browser.post("/esim", {"plan_id": "esim-1d-1gb"})
    review = browser.get("/esim/review", {"lang": "nl"})
    page = review.content.decode()
    assert 'name="email"' in page
    assert " required" in page
    idem = re.search(r'name="idem" value="([0-9a-f]+)"', page)
    assert idem is not None
    for email, message in (("", "Vul je e-mailadres in"), ("jan@", "Dit e-mailadres is niet geldig")):
        form = {"idem": idem.group(1), "payment_method": "card", "email": email}
        answer = browser.post("/esim/review", form)
        assert answer.status_code == 422
        assert message in answer.content.decode()
        assert 'id="email" name="email"' in answer.content.decode()
        assert 'aria-invalid="true"' in answer.content.decode()
    assert Order.objects.count() == 0
    assert Payment.objects.count() == 0
