"""Bundle reminders walked through with a test clock: 75 %, 90 %, 7 days, 3 days and a night; each once,
none at night, at most one a Brussels day, in the line's language, and not at all once the line opts out
(by SMS or on "My line")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from topup.channels import owners, sms
from topup.clock import new_id, set_now
from topup.db.models import BundleRecord, BundleReminder, Job, Line, LinePreference, Notification
from topup.domain.reminders import is_quiet, local_day
from topup.ports import NotSent
from topup.services import maintenance, notifications, reminders, selfcare
from topup.services.plan_text import plan_title
from topup.worker import claim, run_one

BXL = ZoneInfo("Europe/Brussels")
NUMBER, ICCID = "+32471000201", "8932990000000000201"
GB_KB = 1024 * 1024


class RecordingSms:
    def __init__(self) -> None:
        self.sent: list[tuple[datetime, str, str]] = []

    def send(self, to: str, text: str) -> None:
        from topup.clock import now  # noqa: PLC0415

        self.sent.append((now(), to, text))


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, text: str) -> None:
        self.sent.append((to, subject, text))


@pytest.fixture
def peers() -> Iterator[tuple[RecordingSms, RecordingMailer]]:
    texts, mails = RecordingSms(), RecordingMailer()
    notifications.configure(sms=texts, mailer=mails)
    reminders._last_sweep.clear()
    yield texts, mails
    notifications.configure()
    set_now(None)


def _bxl(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=BXL).astimezone(UTC)


def _line(msisdn: str | None = NUMBER, iccid: str = ICCID, language: str = "en") -> Line:
    at = _bxl(6, 1, 1)
    return Line.objects.create(
        id=new_id("ln"), network_id="topup-esim", iccid=iccid, msisdn=msisdn, language=language,
        created_at=at, updated_at=at,
    )  # fmt: skip


def _bundle(
    line: Line, starts: datetime, plan_id: str = "esim-30d-20gb", gb: int = 20, days: int = 30
) -> str:
    bundle_id = new_id("bdl")
    BundleRecord.objects.create(
        id=bundle_id, line=line, plan_id=plan_id, data_kb=gb * GB_KB, validity_days=days, purchased_at=starts,
        starts_at=starts, expires_at=starts + timedelta(days=days), status="active",
    )  # fmt: skip
    return bundle_id


def _use(bundle_id: str, percent: int) -> None:
    total = BundleRecord.objects.get(id=bundle_id).data_kb or 0
    BundleRecord.objects.filter(id=bundle_id).update(used_kb=-(-total * percent // 100))


def _tick(at: datetime) -> None:
    """The clock reads `at`: the worker's sweeps run, then every job due now."""
    set_now(at)
    maintenance._expiry_notices()  # the sweep as `maintenance.SWEEPS` runs it
    for _round in range(10):
        jobs = claim(50, lease_s=30)
        if not jobs:
            return
        for job in jobs:
            run_one(*job)


def _sent_kinds(line: Line) -> list[str]:
    rows = BundleReminder.objects.filter(line=line, status="sent").order_by("sent_at")
    return list(rows.values_list("kind", flat=True))


def _no_latin_words(text: str, plan_ids: tuple[str, ...]) -> list[str]:
    """The Latin words left in a Chinese text once the link, the plan titles and the units are taken out."""
    text = re.sub(r"https?://\S+", "", text)
    for plan_id in plan_ids:
        text = text.replace(plan_title(plan_id, "zh-hans"), "")
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in ("GB", "MB")]


def test_a_line_walked_through_75_90_7_days_3_days_and_a_night(
    seeded: None, peers: tuple[RecordingSms, RecordingMailer]
) -> None:
    texts, mails = peers
    line = _line()
    selfcare.set_language(NUMBER, "zh-hans")
    preference = LinePreference.objects.get(line_ref=NUMBER)
    preference.email = "li@example.test"
    preference.save()
    bundle = _bundle(line, starts=_bxl(6, 1, 1))  # ends 1 July 01:00 Brussels time

    _use(bundle, 10)
    _tick(_bxl(6, 1, 12))
    assert texts.sent == []

    _use(bundle, 76)
    _tick(_bxl(6, 3, 11))
    assert _sent_kinds(line) == ["usage_75"]

    _use(bundle, 91)  # the same day: waits for tomorrow morning
    _tick(_bxl(6, 3, 15))
    for night in (_bxl(6, 3, 22), _bxl(6, 3, 23, 30), _bxl(6, 4, 3), _bxl(6, 4, 7, 59)):
        _tick(night)
    assert _sent_kinds(line) == ["usage_75"]
    _tick(_bxl(6, 4, 8))
    assert _sent_kinds(line) == ["usage_75", "usage_90"]

    for day in (10, 20, 23):
        _tick(_bxl(6, day, 12))
    _tick(_bxl(6, 24, 12))  # 1 July 01:00 is less than 7 days away
    assert _sent_kinds(line) == ["usage_75", "usage_90", "expiry_7d"]

    for night in (_bxl(6, 28, 1, 30), _bxl(6, 28, 4), _bxl(6, 28, 7, 59)):  # due at 01:00: at night
        _tick(night)
    assert _sent_kinds(line) == ["usage_75", "usage_90", "expiry_7d"]
    _tick(_bxl(6, 28, 8))
    for later in (_bxl(6, 28, 12), _bxl(6, 29, 12), _bxl(6, 30, 12)):
        _tick(later)

    assert _sent_kinds(line) == ["usage_75", "usage_90", "expiry_7d", "expiry_3d"]
    assert len(texts.sent) == 4  # each exactly once, by SMS ...
    assert len(mails.sent) == 4  # ... and by e-mail
    sent_at = [at for at, _to, _text in texts.sent]
    assert sent_at == [_bxl(6, 3, 11), _bxl(6, 4, 8), _bxl(6, 24, 12), _bxl(6, 28, 8)]
    assert not any(is_quiet(at, BXL) for at in sent_at)
    assert len({local_day(at, BXL) for at in sent_at}) == len(sent_at)  # at most one a day
    assert {to for _at, to, _text in texts.sent} == {NUMBER}
    assert {to for to, _subject, _text in mails.sent} == {"li@example.test"}

    first, second, seven, three = (text for _at, _to, text in texts.sent)
    assert "76%" in first
    assert "91%" in second
    assert "2027年7月1日" in seven
    assert "2027年7月1日" in three
    for text in (first, second, seven, three):
        assert "/topup?msisdn=%2B32471000201&plan=esim-30d-20gb" in text  # the cheapest with 20 GB or more
        assert "€19.99" in text
        assert _no_latin_words(text, ("esim-30d-20gb",)) == [], text
    for _to, subject, text in mails.sent:
        assert _no_latin_words(subject + " " + text, ("esim-30d-20gb",)) == []
    assert Notification.objects.filter(kind="reminder", status="sent").count() == 8


def test_two_due_the_same_day_the_more_urgent_goes_the_other_is_dropped(
    seeded: None, peers: tuple[RecordingSms, RecordingMailer]
) -> None:
    texts, _mails = peers
    line = _line(language="nl")
    bundle = _bundle(line, starts=_bxl(5, 10, 12))  # ends 9 June 12:00
    _use(bundle, 80)

    _tick(_bxl(6, 3, 10))  # 75 % used and 6 days left: the end goes, the 75 % is dropped
    _tick(_bxl(6, 4, 10))
    assert _sent_kinds(line) == ["expiry_7d"]
    assert BundleReminder.objects.get(bundle_id=bundle, kind="usage_75").status == "dropped"
    ((_at, _to, text),) = texts.sent
    assert "loopt af op 9 jun 2027" in text  # the line's own language without a preference: Dutch dates

    _use(bundle, 95)  # the usage rating's crossing checks the bundle at once
    set_now(_bxl(6, 5, 9))
    notifications.bundles_crossed([(bundle, 80)], _bxl(6, 5, 9))
    _tick(_bxl(6, 5, 9))
    assert _sent_kinds(line) == ["expiry_7d", "usage_90"]
    _tick(_bxl(6, 6, 13))  # 3 days before the end: 9 June 12:00
    assert _sent_kinds(line) == ["expiry_7d", "usage_90", "expiry_3d"]
    assert len(texts.sent) == 3


def test_a_line_that_said_stop_gets_no_reminder_until_it_says_start(
    seeded: None, peers: tuple[RecordingSms, RecordingMailer]
) -> None:
    texts, _mails = peers
    line = _line()
    bundle = _bundle(line, starts=_bxl(6, 1, 12))
    set_now(_bxl(6, 2, 9))

    answer = sms.handle_inbound(NUMBER, "关闭提醒")
    assert not re.search(r"[A-Za-z]{2,}", answer.replace("REMINDERS ON", "")), answer
    assert selfcare.language_of(NUMBER) == "zh-hans"  # the Chinese keyword tells the language too

    _use(bundle, 80)
    _tick(_bxl(6, 3, 10))
    _tick(_bxl(6, 4, 10))
    assert texts.sent == []
    assert BundleReminder.objects.get(bundle_id=bundle, kind="usage_75").status == "off"
    assert not Job.objects.filter(kind="remind", status="queued").exists()

    set_now(_bxl(6, 5, 9))
    sms.handle_inbound(NUMBER, "LANG EN")
    assert sms.handle_inbound(NUMBER, "REMINDERS ON").startswith("Reminders are on")
    _use(bundle, 92)
    _tick(_bxl(6, 5, 10))
    assert _sent_kinds(line) == ["usage_90"]  # the 75 % it missed while off stays missed
    assert "Reply REMINDERS OFF" in texts.sent[0][2]


def test_an_esim_without_a_number_is_reminded_by_e_mail_with_a_link_to_my_esims(
    seeded: None, peers: tuple[RecordingSms, RecordingMailer]
) -> None:
    texts, mails = peers
    line = _line(msisdn=None, iccid="8932990000000000202", language="fr")
    LinePreference.objects.create(line_ref=line.iccid, language="fr", email="a@example.test",
                                  updated_at=_bxl(6, 1, 9))  # fmt: skip
    bundle = _bundle(line, starts=_bxl(6, 1, 12), plan_id="esim-7d-5gb", gb=5, days=7)
    _use(bundle, 77)
    _tick(_bxl(6, 3, 10))
    assert texts.sent == []
    ((to, _subject, text),) = mails.sent
    assert to == "a@example.test"
    assert "/my/esims" in text
    assert "9,99" in text  # the cheapest bundle with 5 GB or more, in French figures
    assert "REMINDERS" not in text  # nothing to reply to without a number


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_my_line_turns_reminders_off_for_the_signed_in_line_only(seeded: None) -> None:
    from tests.support.orders import signed_in_token  # noqa: PLC0415

    _line()
    stranger = Client(enforce_csrf_checks=True)
    page = stranger.get("/my").content.decode()
    answer = stranger.post("/my/reminders", {"csrfmiddlewaretoken": _csrf(page), "reminders": "off"})
    assert answer.status_code == 302
    assert reminders.reminders_on([NUMBER])  # nobody signed in: nothing changed

    client = Client(enforce_csrf_checks=True)
    session = client.session
    session[owners.SESSION_LINE_TOKEN] = signed_in_token(NUMBER)
    session.save()
    page = client.get("/my?lang=en").content.decode()
    assert "Turn reminders off" in page
    assert client.post("/my/reminders", {"reminders": "off"}).status_code == 403  # no CSRF token
    assert reminders.reminders_on([NUMBER])
    answer = client.post("/my/reminders", {"csrfmiddlewaretoken": _csrf(page), "reminders": "off"})
    assert (answer.status_code, answer["Location"]) == (302, "/my")
    assert not reminders.reminders_on([NUMBER])
    page = client.get("/my").content.decode()
    assert "Turn reminders on" in page
    client.post("/my/reminders", {"csrfmiddlewaretoken": _csrf(page), "reminders": "on"})
    assert reminders.reminders_on([NUMBER])
    page = client.get("/my?lang=zh-hans").content.decode()
    assert "关闭提醒" in page
    assert "四分之三" in page
    assert "reminder" not in page.lower().replace("/my/reminders", "").replace('name="reminders"', "")


def test_my_line_offers_no_reminders_for_a_line_that_never_gets_any(seeded: None) -> None:
    """Reminders are for lines whose bundles we hold: an external operator's number signed in to My line
    is not offered a switch that would do nothing."""
    from tests.support.orders import signed_in_token  # noqa: PLC0415

    external = "+32470555123"  # no line of ours: its bundles are its operator's
    client = Client()
    session = client.session
    session[owners.SESSION_LINE_TOKEN] = signed_in_token(external)
    session.save()
    page = client.get("/my?lang=en").content.decode()
    assert "Sign out" in page  # signed in
    assert "/my/reminders" not in page  # no card, no switch
    assert "Turn reminders" not in page
    assert not reminders.reminded(external)
    _line()
    assert reminders.reminded(NUMBER)
    assert reminders.reminded(ICCID)


def test_a_job_run_late_at_night_waits_for_the_morning(
    seeded: None, peers: tuple[RecordingSms, RecordingMailer]
) -> None:
    texts, _mails = peers
    line = _line()
    bundle = _bundle(line, starts=_bxl(6, 1, 12))
    _use(bundle, 80)
    set_now(_bxl(6, 3, 21, 59))
    maintenance._expiry_notices()  # queued for 21:59, but no worker runs it before 22:30
    assert Job.objects.filter(kind="remind", status="queued").count() == 1

    _tick(_bxl(6, 3, 22, 30))
    _tick(_bxl(6, 4, 7, 59))
    assert texts.sent == []
    _tick(_bxl(6, 4, 8))
    assert [at for at, _to, _text in texts.sent] == [_bxl(6, 4, 8)]


class RefusingOnceSms(RecordingSms):
    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def send(self, to: str, text: str) -> None:
        if not self.refused:
            self.refused += 1
            raise NotSent("SMSC busy")
        super().send(to, text)


def test_a_refused_sms_is_retried_and_the_e_mail_is_not_repeated(seeded: None) -> None:
    texts, mails = RefusingOnceSms(), RecordingMailer()
    notifications.configure(sms=texts, mailer=mails)
    reminders._last_sweep.clear()
    try:
        line = _line()
        LinePreference.objects.create(line_ref=NUMBER, language="de", email="k@example.test",
                                      updated_at=_bxl(6, 1, 9))  # fmt: skip
        bundle = _bundle(line, starts=_bxl(6, 1, 12))
        _use(bundle, 80)
        _tick(_bxl(6, 3, 10))
        assert (texts.refused, texts.sent, len(mails.sent)) == (1, [], 1)
        _tick(_bxl(6, 3, 10, 5))  # the job's retry
        _tick(_bxl(6, 3, 11))
        assert len(texts.sent) == 1
        assert len(mails.sent) == 1
        assert "80 %" in texts.sent[0][2]  # German figures, the line's chosen language
        assert _sent_kinds(line) == ["usage_75"]
    finally:
        notifications.configure()
        set_now(None)


def test_an_esim_bought_with_an_e_mail_address_is_reminded_there(
    seeded: None, peers: tuple[RecordingSms, RecordingMailer]
) -> None:
    from topup.db.models import Order, PlanRecord  # noqa: PLC0415
    from topup.domain.quotes import make_quote  # noqa: PLC0415

    _texts, mails = peers
    line = _line(msisdn=None, iccid="8932990000000000203", language="zh-hans")
    plan = PlanRecord.objects.select_related("network").get(id="esim-30d-20gb")
    quote = make_quote(plan.to_domain(), plan.network.to_domain(), "", guessed_network=None)
    Order.objects.create(
        id=new_id("ord"), plan=plan, network=plan.network, line=line, iccid=line.iccid, channel="web",
        status="delivered", total_minor=quote.total.amount_minor, currency=quote.currency,
        quote=quote.to_dict(), email="wang@example.test", language="zh-hans", created_at=_bxl(6, 1, 9),
        updated_at=_bxl(6, 1, 9),
    )  # fmt: skip
    bundle = _bundle(line, starts=_bxl(6, 1, 12))
    _use(bundle, 90)
    _tick(_bxl(6, 3, 10))
    ((to, subject, text),) = mails.sent
    assert to == "wang@example.test"
    assert _no_latin_words(subject + text, ("esim-30d-20gb",)) == []
    assert _sent_kinds(line) == ["usage_90"]
    assert BundleReminder.objects.get(bundle_id=bundle, kind="usage_75").note == "dropped for usage_90"


def test_two_workers_on_the_same_line_send_one_reminder(
    seeded: None, peers: tuple[RecordingSms, RecordingMailer]
) -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from django.db import connection  # noqa: PLC0415

    texts, mails = peers
    line = _line()
    bundle = _bundle(line, starts=_bxl(6, 1, 12))
    _use(bundle, 80)
    at = _bxl(6, 3, 10)
    set_now(at)
    maintenance._expiry_notices()
    Job.objects.create(
        id=new_id("job"), kind="remind", subject_id=f"{line.id}@twin", run_after=at, created_at=at
    )
    jobs = claim(50, lease_s=30)
    assert len(jobs) == 2

    def run(job: tuple[str, str, str, int, str]) -> bool:
        try:
            return run_one(*job)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        assert all(pool.map(run, jobs))
    assert len(texts.sent) == 1
    assert mails.sent == []  # no address known for this line
    assert _sent_kinds(line) == ["usage_75"]
