"""The finished order page: a clear success or failure with the plan's title, the network's brand and the
order number; its live status (a long poll that answers at once on a change, bounded otherwise); the
receipt as a PDF and "top up again", each for the order's holder only (a stranger gets 404)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tests.integration.test_site_info_pages import latin_words
from tests.integration.test_web_pages import compiled_catalogues  # noqa: F401 - autouse: .mo files
from tests.support.orders import signed_in_token
from topup.db.models import Line, NetworkRecord, Order, OrderEvent, PlanRecord
from topup.domain.money import Money
from topup.domain.promotions import AppliedPromotion
from topup.domain.quotes import make_quote
from topup.services import locale_text, order_push, order_receipts, order_watch, orders, receipts
from topup.services.order_access import Caller, order_token
from topup.services.plan_text import network_brand, plan_title

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
NUMBER = "+32470123456"
WAITING = ["created", "awaiting_payment"]
DELIVERED = ["created", "awaiting_payment", "paid", "delivering", "delivered"]
REFUNDED = ["created", "awaiting_payment", "paid", "delivering", "delivery_failed", "refunded"]


def _order(order_id: str, statuses: list[str], plan_id: str = "proximus-credit-10", msisdn: str = NUMBER,
           line: Line | None = None) -> Order:  # fmt: skip
    plan = PlanRecord.objects.select_related("network").get(id=plan_id)
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), msisdn, guessed_network=None)
    order = Order.objects.create(
        id=order_id, plan=plan, network=plan.network, msisdn=msisdn, line=line,
        iccid=line.iccid if line else "", channel="web", status=statuses[-1],
        total_minor=quote.total.amount_minor, currency=quote.currency, quote=quote.to_dict(),
        created_at=AT, updated_at=AT,
    )  # fmt: skip
    for step, (before, after) in enumerate(zip(["", *statuses], statuses, strict=False)):
        OrderEvent.objects.create(
            order=order, from_status=before, to_status=after, at=AT + timedelta(seconds=step)
        )
    return order


def _esim_order(statuses: list[str], profile_state: str = "installed") -> Order:
    line = Line.objects.create(
        id="ln_site1", network=NetworkRecord.objects.get(id="topup-esim"), iccid="8932990000000000025",
        matching_id="QR-SITE-1", smdp_address="smdp.topup.example", profile_state=profile_state,
        created_at=AT, updated_at=AT,
    )  # fmt: skip
    return _order("ord_site_esim", statuses, plan_id="esim-7d-5gb", msisdn="", line=line)


def _holder(order: Order) -> Client:
    """A browser back from the checkout's return link: the order is kept in its session."""
    client = Client()
    assert client.get(f"/orders/{order.id}", {"token": order_token(order.id)}).status_code == 302
    return client


def test_a_delivered_top_up_says_it_arrived_with_plan_network_and_order_number(seeded: None) -> None:
    order = _order("ord_site_ok", DELIVERED)

    html = _holder(order).get(f"/orders/{order.id}").text

    assert 'data-outcome="success"' in html
    assert "Your top-up has arrived" in html
    assert f'<dd id="plan-title">{plan_title("proximus-credit-10", "en")}</dd>' in html
    assert network_brand("proximus") == "Proximus"
    assert '<dd id="network-brand">Proximus</dd>' in html
    assert ">proximus<" not in html  # the brand, never the network's id
    assert f'<code id="order-number" class="copy">{order.id}</code>' in html
    assert f'href="/orders/{order.id}/receipt.pdf"' in html
    assert f'<a class="button" id="again" href="/orders/{order.id}/again">Top up again</a>' in html
    assert 'id="live"' not in html  # settled: nothing to wait for
    assert "order.js" not in html


def test_a_refunded_top_up_says_what_happened_and_what_to_do_in_french(seeded: None) -> None:
    order = _order("ord_site_refunded", REFUNDED)

    html = _holder(order).get(f"/orders/{order.id}", {"lang": "fr"}).text

    assert 'data-outcome="failure"' in html
    assert "Nous n\u2019avons pas pu livrer votre recharge" in html
    assert "Nous avons remboursé" in html
    assert f'<code id="order-number" class="copy">{order.id}</code>' in html
    assert ">Recharger à nouveau</a>" in html
    assert "receipt.pdf" in html  # money was taken, then given back: the return receipt


def test_a_new_esim_delivered_is_ready_and_can_be_bought_again_in_chinese(seeded: None) -> None:
    order = _esim_order(DELIVERED)

    html = _holder(order).get(f"/orders/{order.id}", {"lang": "zh-hans"}).text

    assert 'data-outcome="success"' in html
    assert "您的 eSIM 已准备就绪" in html
    assert ">再次购买</a>" in html
    assert "<dt>套餐</dt>" in html  # the labels too: plan, network, order number
    assert "<dt>运营商</dt>" in html
    assert "<dt>订单号</dt>" in html
    assert f'<dd id="plan-title">{plan_title("esim-7d-5gb", "zh-hans")}</dd>' in html


@pytest.mark.parametrize(
    ("language", "written"),
    [("zh-hans", "2026/11/25 10:30"), ("nl", "25/11/2026, 10:30"), ("fr", "25/11/26 10:30")],
)
def test_the_order_history_writes_dates_as_the_rest_of_the_site(
    seeded: None, language: str, written: str
) -> None:
    """One way to write a moment per language (`locale_text.moment`, Brussels time), on the order page as
    on My eSIMs, in messages and receipts."""
    order = _order("ord_site_dates", DELIVERED)
    html = _holder(order).get(f"/orders/{order.id}", {"lang": language}).text
    assert locale_text.moment(AT, language) == written
    shown = re.findall(r'<time datetime="[^"]+">([^<]+)</time>', html)
    assert len(shown) == len(DELIVERED)
    assert set(shown) == {written}, shown


def test_a_finished_esim_not_yet_installed_says_only_its_state_will_change(seeded: None) -> None:
    order = _esim_order(DELIVERED, profile_state="released")
    client = _holder(order)
    html = client.get(f"/orders/{order.id}", {"lang": "zh-hans"}).text
    assert 'data-outcome="success"' in html
    assert 'id="live"' in html  # still following the install
    assert "手机安装好 eSIM 后，下方的 eSIM 状态会自动更新。" in html  # noqa: RUF001
    assert "本页会自动刷新" not in html  # not "this page refreshes itself" on a finished order
    english = client.get(f"/orders/{order.id}", {"lang": "en"}).text
    assert "This page refreshes by itself." not in english
    waiting = _holder(_order("ord_site_wait_live", WAITING)).get("/orders/ord_site_wait_live").text
    assert "This page refreshes by itself." in waiting


def test_an_order_awaiting_payment_waits_live_and_keeps_a_refresh_without_javascript(seeded: None) -> None:
    order = _order("ord_site_wait", WAITING)

    html = _holder(order).get(f"/orders/{order.id}").text

    assert "data-outcome" not in html  # no verdict yet
    assert "Waiting for payment" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert '<script src="/static/topup/order.js" defer></script>' in html
    live = re.search(r'data-status-url="([^"]+)" data-state="([^"]+)"', html)
    assert live is not None
    assert live.group(1) == f"/orders/{order.id}/status?token={order_token(order.id)}"
    assert live.group(2) == order_watch.state_of(order.id)[1] == "awaiting_payment.."
    assert f'data-events-url="/orders/{order.id}/events?token={order_token(order.id)}"' in html
    assert "receipt.pdf" not in html  # nothing paid, no receipt
    assert 'id="again"' not in html


def test_the_status_answers_at_once_when_the_order_changed(seeded: None) -> None:
    order = _order("ord_site_status", WAITING)
    shown = order_watch.state_of(order.id)[1]
    Order.objects.filter(id=order.id).update(status="paid")

    answer = Client().get(f"/orders/{order.id}/status", {"token": order_token(order.id), "after": shown})

    assert answer.status_code == 200
    assert answer.json() == {"status": "paid", "state": "paid..", "changed": True}
    assert answer["Cache-Control"] == "no-store"


def test_the_status_waits_until_the_order_changes(seeded: None, monkeypatch: pytest.MonkeyPatch) -> None:
    order = _order("ord_site_waits", WAITING)
    shown = order_watch.state_of(order.id)[1]
    naps: list[str] = []

    def nap(watch: order_push.Watch, seconds: float) -> bool:  # the worker delivers while the request waits
        naps.append(watch.order_id)
        if len(naps) == 3:
            Order.objects.filter(id=order.id).update(status="delivered")
        return False

    monkeypatch.setattr(order_watch, "_wait", nap)
    answer = _holder(order).get(f"/orders/{order.id}/status", {"after": shown})

    assert answer.json() == {"status": "delivered", "state": "delivered..", "changed": True}
    assert naps == [order.id] * 3  # read again after each wake-up, answered on the change


def test_the_status_wait_is_bounded(seeded: None, monkeypatch: pytest.MonkeyPatch) -> None:
    order = _order("ord_site_bounded", WAITING)
    shown = order_watch.state_of(order.id)[1]
    clock = [0.0]
    monkeypatch.setattr(order_watch, "_clock", lambda: clock[0])
    monkeypatch.setattr(order_watch, "_wait", lambda _watch, s: clock.__setitem__(0, clock[0] + s))

    answer = _holder(order).get(f"/orders/{order.id}/status", {"after": shown})

    assert answer.json() == {"status": "awaiting_payment", "state": shown, "changed": False}
    assert clock[0] == pytest.approx(order_watch.WAIT_S)


def test_a_stranger_gets_404_from_the_status_receipt_and_again(seeded: None) -> None:
    order = _order("ord_site_private", DELIVERED)
    other = _order("ord_site_other", DELIVERED, msisdn="+32470999999")
    stranger = Client()
    for path in ("status", "receipt.pdf", "again"):
        assert stranger.get(f"/orders/{order.id}/{path}").status_code == 404
        wrong = stranger.get(f"/orders/{order.id}/{path}", {"token": order_token(other.id)})
        assert wrong.status_code == 404  # another order's token proves nothing about this one
        assert stranger.get(f"/orders/ord_nope/{path}").status_code == 404
    assert _holder(other).get(f"/orders/{order.id}/receipt.pdf").status_code == 404
    signed_in = Client()  # a line signed in on My line sees its own number's orders, not others'
    session = signed_in.session
    session["web_my_token"] = signed_in_token("+32470999999")
    session.save()
    assert signed_in.get(f"/orders/{order.id}/status").status_code == 404
    assert signed_in.get(f"/orders/{other.id}/status", {"after": "x"}).status_code == 200


def test_the_receipt_is_a_pdf_for_its_holder_once_paid(seeded: None) -> None:
    order = _order("ord_site_receipt", DELIVERED)
    holder = _holder(order)

    answer = holder.get(f"/orders/{order.id}/receipt.pdf")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert f'filename="receipt-{order.id}.pdf"' in answer["Content-Disposition"]
    with_token = Client().get(f"/orders/{order.id}/receipt.pdf", {"token": order_token(order.id)})
    assert with_token.content.startswith(b"%PDF")
    waiting = _order("ord_site_unpaid", WAITING)
    assert _holder(waiting).get(f"/orders/{waiting.id}/receipt.pdf").status_code == 404


def test_the_receipt_says_order_plan_network_and_vat_in_the_readers_language(seeded: None) -> None:
    order = _order("ord_site_words", REFUNDED)

    text = receipts.render_text(order_receipts.order_receipt(order, "zh-hans"))

    assert order.id in text
    assert plan_title("proximus-credit-10", "zh-hans") in text
    assert "Proximus" in text
    assert "+32 470 ** ** 56" in text  # the number masked
    assert "退款" in text  # a refunded order's receipt is a return receipt


def test_top_up_again_prefills_the_same_number_and_plan(seeded: None) -> None:
    order = _order("ord_site_again", DELIVERED)
    holder = _holder(order)

    again = holder.get(f"/orders/{order.id}/again")

    assert again.status_code == 302
    assert again["Location"] == "/topup/review"
    assert NUMBER not in again["Location"]
    review = holder.get("/topup/review")
    assert review.status_code == 200
    assert NUMBER in review.text
    assert plan_title("proximus-credit-10", "en") in review.text or "10,00" in review.text


def test_buy_again_for_an_esim_goes_to_the_esim_review(seeded: None) -> None:
    order = _esim_order(DELIVERED)

    again = _holder(order).get(f"/orders/{order.id}/again")

    assert again["Location"] == "/esim/review"


def test_my_line_tops_up_its_own_number_prefilled(seeded: None) -> None:
    browser = Client()
    session = browser.session
    session["web_my_token"] = signed_in_token(NUMBER)
    session.save()

    line_page = browser.get("/my").text
    number_page = browser.get("/topup", {"for": "my-line"}).text

    assert 'href="/topup?for=my-line"' in line_page
    assert f'value="{NUMBER}"' in number_page
    assert 'value=""' in Client().get("/topup", {"for": "my-line"}).text  # nobody signed in: empty


def test_an_expired_order_says_nothing_was_charged_and_has_no_receipt(seeded: None) -> None:
    order = _order("ord_site_expired", [*WAITING, "expired"])

    html = _holder(order).get(f"/orders/{order.id}", {"lang": "de"}).text

    assert 'data-outcome="failure"' in html
    assert "Diese Bestellung ist abgelaufen" in html
    assert "Es wurde nichts abgebucht" in html
    assert "receipt.pdf" not in html
    assert ">Erneut aufladen</a>" in html


def test_when_every_waiter_is_busy_the_status_answers_at_once_with_when_to_ask_again(seeded: None) -> None:
    order = _order("ord_site_busy", WAITING)
    shown = order_watch.state_of(order.id)[1]
    taken = [order_watch._WAITERS.acquire(blocking=False) for _ in range(order_watch.MAX_WAITERS)]
    try:
        answer = _holder(order).get(f"/orders/{order.id}/status", {"after": shown})
    finally:
        for _ in taken:
            order_watch._WAITERS.release()

    assert all(taken)
    assert answer.json() == {
        "status": "awaiting_payment", "state": shown, "changed": False, "retry_ms": order_watch.BUSY_RETRY_MS,
    }  # fmt: skip


def test_a_change_between_drawing_the_page_and_waiting_is_not_missed(seeded: None) -> None:
    """The page waits from the state it drew (its document), not from a later read of the database."""
    order = _order("ord_site_race", [*DELIVERED[:-1]])  # delivering
    drawn = orders.get_order(order.id, Caller(tokens=(order_token(order.id),)))
    Order.objects.filter(id=order.id).update(status="delivered")  # the worker finishes meanwhile

    page_state = order_watch.state_of_document(drawn)
    answer = _holder(order).get(f"/orders/{order.id}/status", {"after": page_state})

    assert page_state == "delivering.."
    assert answer.json() == {"status": "delivered", "state": "delivered..", "changed": True}


@pytest.mark.parametrize("statuses", [DELIVERED, REFUNDED, WAITING], ids=["delivered", "refunded", "waiting"])
def test_the_chinese_order_page_has_no_english_words(seeded: None, statuses: list[str]) -> None:
    order = _order(f"ord_site_zh_{statuses[-1]}", statuses)
    html = _holder(order).get(f"/orders/{order.id}", {"lang": "zh-hans"}).text
    # The plan's title is services.plan_text's (translated by helper "lang"); the order number is an id.
    html = re.sub(r'<dd id="plan-title">.*?</dd>|<code id="order-number"[^>]*>.*?</code>', "", html)

    assert latin_words(html) == set()


@pytest.mark.parametrize(
    ("language", "written"),
    [("zh-hans", "2026/11/25 10:30"), ("fr", "25/11/26 10:30"), ("nl", "25/11/2026, 10:30")],
)
def test_the_order_history_writes_its_moments_as_the_pages_language_does(
    seeded: None, language: str, written: str
) -> None:
    """In Brussels time, as the language writes a date: never the day-first digits on a Chinese page."""
    order = _order(f"ord_site_when_{language}", DELIVERED)
    html = _holder(order).get(f"/orders/{order.id}", {"lang": language}).text
    history = html.split("<ol>", 1)[1].split("</ol>", 1)[0]
    assert history.count(f">{written}</time>") == len(DELIVERED), history
    if language == "zh-hans":
        assert "25/11/2026" not in history


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("fr", "Flyer (FLYER5)\u00a0: <strong>"),
        ("zh-hans", "传单 (FLYER5)\uff1a<strong>"),  # a full-width colon
        ("nl", "Flyer (FLYER5): <strong>"),
    ],
)
def test_a_promotion_on_the_order_page_is_punctuated_as_the_language_writes_it(
    seeded: None, language: str, written: str
) -> None:
    """French puts a space before its colon, Chinese a full-width colon: never "Flyer (FLYER5): " in both."""
    order = _order(f"ord_site_promo_{language}", DELIVERED)
    flyer = AppliedPromotion(
        campaign_id="cmp_flyer", rule="fixed", name="Flyer", saving=Money(100, "EUR"), code="FLYER5",
        names=(("en", "Flyer"), ("fr", "Flyer"), ("nl", "Flyer"), ("zh-hans", "传单")),
    )  # fmt: skip
    order.quote = {**order.quote, "promotions": [flyer.to_dict()]}
    order.save()
    html = _holder(order).get(f"/orders/{order.id}", {"lang": language}).text
    promotions = html.split('id="promotions">', 1)[1].split("</ul>", 1)[0]
    assert written in promotions, promotions
