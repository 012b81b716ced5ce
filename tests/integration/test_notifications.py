"""Notifications are outbox jobs sent once, in the customer's language, by SMS and by e-mail to a real
SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from tests.integration.conftest import run_jobs_until_idle
from tests.support import notify
from tests.support.processes import free_port
from topup import worker
from topup.adapters.messaging.smtp import SmtpMailer
from topup.clock import new_id, now
from topup.db.models import (
    Job,
    LinePreference,
    Notification,
    Order,
    OrderEvent,
    PlanRecord,
)
from topup.domain.orders import OrderStatus
from topup.domain.quotes import make_quote
from topup.services import notifications
from topup.services.transitions import move

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "topup" / "locale"
ZH_NUMBER, NL_NUMBER = "+32471000101", "+32471000102"


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues() -> Iterator[None]:
    """The .mo files are git-ignored build products: compile stale ones, then reset Django's caches."""
    for directory in ("nl", "fr", "de", "zh_Hans"):
        po = LOCALE_DIR / directory / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            tmp = po.with_name(f"django.{os.getpid()}.ntf.tmp.mo")
            args = [sys.executable, "-m", "babel.messages.frontend", "compile", "-D", "django"]
            subprocess.run([*args, "-i", str(po), "-o", str(tmp)], check=True, capture_output=True)
            tmp.replace(mo)
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


class RecordingSms:
    """Test-only SMS peer. The production SmppSmsSender is exercised against the SMSC simulator over real
    SMPP in its own tests; here only the rendering and the once-only bookkeeping are under test."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> None:
        self.sent.append((to, text))


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def plain_text(message: Message) -> str:
    """The text/plain body of a received e-mail (alone, or beside HTML and attachments)."""
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def sms(smtp_inbox: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingSms]:
    recorder = RecordingSms()
    notifications.configure(
        sms=recorder, mailer=SmtpMailer("127.0.0.1", smtp_inbox[1], "receipts@topup.test")
    )
    monkeypatch.setitem(worker.HANDLERS, "notify", notify.send_one)  # the lead registers HANDLERS
    yield recorder
    notifications.configure()


def _delivering_order(msisdn: str, plan_id: str = "proximus-credit-10") -> Order:
    plan = PlanRecord.objects.select_related("network").get(id=plan_id)
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), msisdn, guessed_network=None)
    at = now()
    order = Order.objects.create(
        id=new_id("ord"), plan=plan, network=plan.network, msisdn=msisdn, channel="web", language="en",
        status=OrderStatus.DELIVERING.value, total_minor=quote.total.amount_minor, currency=quote.currency,
        quote=quote.to_dict(), created_at=at, updated_at=at,
    )  # fmt: skip
    OrderEvent.objects.create(order=order, from_status="paid", to_status="delivering", at=at)
    return order


def _prefer(line_ref: str, language: str, email: str = "") -> None:
    LinePreference.objects.create(line_ref=line_ref, language=language, email=email, updated_at=now())


def _deliver(order: Order) -> None:
    with transaction.atomic():
        at = now()
        move(order, OrderStatus.DELIVERED, at=at)
        notifications.order_changed(order, OrderStatus.DELIVERED, at)
        notifications.order_changed(order, OrderStatus.DELIVERED, at)  # a replayed hook enqueues nothing


def test_receipt_is_sent_once_in_each_customers_language(
    seeded: None, sms: RecordingSms, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, _port = smtp_inbox
    _prefer(ZH_NUMBER, "zh-hans", "li@example.test")
    _prefer(NL_NUMBER, "nl", "jan@example.test")
    zh_order, nl_order = _delivering_order(ZH_NUMBER), _delivering_order(NL_NUMBER)

    _deliver(zh_order)
    _deliver(nl_order)
    assert Job.objects.filter(kind="notify").count() == 2
    run_jobs_until_idle()

    texts = dict(sms.sent)
    assert len(sms.sent) == 2
    assert "充值已到账" in texts[ZH_NUMBER]
    assert zh_order.id in texts[ZH_NUMBER]
    assert "新余额稍后即可显示" in texts[ZH_NUMBER]  # an external network: the carrier keeps the balance
    assert "Herlading uitgevoerd" in texts[NL_NUMBER]
    assert "€\u00a010 beltegoed" in texts[NL_NUMBER]  # the plan's title in Dutch, not "€10 credit"
    assert "10欧元话费" in texts[ZH_NUMBER]
    assert "btw" in texts[NL_NUMBER]
    mails = {str(m["To"]): m for m in inbox.messages}
    assert set(mails) == {"li@example.test", "jan@example.test"}
    zh_mail = mails["li@example.test"]
    assert zh_mail["Subject"] == "您的充值已到账"
    # The e-mail says what the SMS says, then the whole receipt (HTML and PDF too: test_receipt_mail).
    assert texts[ZH_NUMBER] in plain_text(zh_mail)
    assert texts[NL_NUMBER] in plain_text(mails["jan@example.test"])
    assert set(Notification.objects.values_list("kind", "channel", "status")) == {
        ("receipt", "sms", "sent"),
        ("receipt", "email", "sent"),
    }
    assert Notification.objects.count() == 4

    # A job run again (a crash after sending, a lease that ran out) sends nothing more.
    assert notify.send_one(f"receipt:{zh_order.id}", 2).done
    assert len(sms.sent) == 2
    assert len(inbox.messages) == 2


def test_a_message_handed_over_before_a_crash_is_not_sent_again(seeded: None, sms: RecordingSms) -> None:
    _prefer(NL_NUMBER, "nl")
    order = _delivering_order(NL_NUMBER)
    _deliver(order)
    Notification.objects.create(
        id=new_id("ntf"), kind="receipt", channel="sms", to=NL_NUMBER, language="nl", subject_id=order.id,
        status="sending", attempts=1, created_at=now(),
    )  # fmt: skip

    run_jobs_until_idle()

    assert sms.sent == []
    assert Notification.objects.get(subject_id=order.id).status == "sending"


def test_a_crash_between_sending_and_marking_the_job_does_not_send_again(
    seeded: None, sms: RecordingSms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is the record: its claim is committed before the hand-over, and a run that dies before
    marking it leaves its lease token behind. The next claim sees the token (`abandoned`): not resent."""
    monkeypatch.setitem(worker.HANDLERS, "notify", notifications.HANDLERS["notify"])  # as the worker runs it
    _prefer(NL_NUMBER, "nl")
    order = _delivering_order(NL_NUMBER)
    _deliver(order)
    [first] = worker.claim(10, lease_s=30)
    assert not first.abandoned
    worker.HANDLERS["notify"](
        first.subject_id, first.attempt, abandoned=first.abandoned
    )  # sent, then kill -9
    assert len(sms.sent) == 1
    assert not Notification.objects.exists()  # nothing written between the claim and the job's mark
    Job.objects.filter(id=first.id).update(locked_until=now() - timedelta(seconds=1))  # its lease runs out

    [again] = worker.claim(10, lease_s=30)
    assert again.abandoned
    assert worker.run_one(*again)

    assert len(sms.sent) == 1
    assert Notification.objects.get(subject_id=order.id).status == "sending"  # handed over, outcome unknown
    assert Job.objects.get(id=first.id).status == "done"


def test_a_notify_job_ends_in_one_commit_with_its_record(
    seeded: None, sms: RecordingSms, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_delivery_batch import counted_commits  # noqa: PLC0415

    monkeypatch.setitem(worker.HANDLERS, "notify", notifications.HANDLERS["notify"])
    _prefer(ZH_NUMBER, "zh-hans")
    order = _delivering_order(ZH_NUMBER)
    _deliver(order)
    [job] = worker.claim(10, lease_s=30)

    with counted_commits() as commits:
        assert worker.run_one(*job)

    assert commits == [1]  # the notification rows and the job's mark together, no claim of a row before
    assert [text for _to, text in sms.sent if "充值已到账" in text]
    sent = Notification.objects.get(subject_id=order.id)
    assert (sent.channel, sent.status, sent.language, sent.attempts) == ("sms", "sent", "zh-hans", 1)
    assert Job.objects.get(id=job.id).status == "done"


def test_an_unreachable_mail_relay_is_retried_and_the_sms_is_not_repeated(
    seeded: None, sms: RecordingSms
) -> None:
    notifications.configure(sms=sms, mailer=SmtpMailer("127.0.0.1", free_port(), "r@topup.test", timeout_s=2))
    _prefer(ZH_NUMBER, "zh-hans", "li@example.test")
    order = _delivering_order(ZH_NUMBER)
    _deliver(order)

    first = notify.send_one(f"receipt:{order.id}", 1)
    second = notify.send_one(f"receipt:{order.id}", 2)

    assert not first.done
    assert not second.done
    assert len(sms.sent) == 1
    mail = Notification.objects.get(channel="email", subject_id=order.id)
    assert (mail.status, mail.attempts) == ("queued", 2)


def test_refund_notice_only_when_refunded(seeded: None, sms: RecordingSms) -> None:
    order = _delivering_order(NL_NUMBER)
    at = now()
    with transaction.atomic():
        notifications.order_changed(order, OrderStatus.DELIVERY_FAILED, at)
        assert not Job.objects.filter(kind="notify").exists()
        notifications.order_changed(order, OrderStatus.REFUNDED, at)

    run_jobs_until_idle()

    ((to, text),) = sms.sent
    assert to == NL_NUMBER
    assert "We could not deliver 10\u00a0€ credit" in text  # no preference: the order's language
    assert "is refunded" in text


def test_times_are_shown_in_belgian_time(seeded: None) -> None:
    assert notifications._when(datetime(2026, 7, 1, 10, 0, tzinfo=UTC), "nl").endswith("12:00")
