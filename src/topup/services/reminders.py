"""Bundle reminders (75 %/90 % used, end in 7/3 days): recorded once per (bundle, kind), sent at most one a
Brussels day per line, never at night, in the line's language, unless the line opted out.

`sweep` (a periodic sweep, and usage rating's threshold crossings through `check`) writes a `due` row for
each reminder a running bundle earned, then queues one `remind` job per line with due rows, not before the
moment the rules allow (`domain.reminders.earliest_send`). The job (`send_due`) decides under the line's
lock which reminder goes (the most urgent; the rest are dropped), and sends it through
`notifications.deliver_once`, so each SMS and e-mail goes at most once, whatever the retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import F, Max, Q, QuerySet

from topup.clock import BRUSSELS, new_id, now
from topup.db.models import BundleRecord, BundleReminder, Job, Line, LinePreference
from topup.domain.reminders import (
    LONGEST_WINDOW,
    ReminderKind,
    due,
    earliest_send,
    is_quiet,
    local_day,
    most_urgent,
)
from topup.services import jobs, notifications, reminder_text, selfcare
from topup.services.delivery import JobResult

log = logging.getLogger(__name__)

JOB_KIND = "remind"
SCHEDULE_BATCH = 500  # lines looked at per round of scheduling queries
SWEEP_EVERY = timedelta(seconds=60)  # a reminder a minute late is no loss; a scan every 5 s would be
_last_sweep: list[datetime] = []  # this process's last full scan (a throttle only: the rows are the truth)


# ---- opting out ---------------------------------------------------------------------------------------


def reminders_on(line_refs: Iterable[str]) -> bool:
    """False when the customer turned reminders off for any way we know the line (number or ICCID)."""
    return not any(
        LinePreference.objects.filter(line_ref=ref, reminders=False).exists() for ref in line_refs if ref
    )


def reminded(line_ref: str) -> bool:
    """Whether bundle reminders can reach this line at all: only a line whose bundles we hold (our hosted
    network) has any; an external operator's line is the operator's to remind."""
    return Line.objects.filter(Q(msisdn=line_ref) | Q(iccid=line_ref), network__kind="hosted").exists()


def set_reminders(line_ref: str, on: bool, language: str | None = None) -> bool:
    """Turn reminders on or off for a line (SMS word, "My line"); keeps the language we answer in."""
    updated = LinePreference.objects.filter(line_ref=line_ref).update(reminders=on, updated_at=now())
    if not updated:
        LinePreference.objects.get_or_create(
            line_ref=line_ref,
            defaults={
                "language": selfcare.language_of(line_ref, language),
                "reminders": on,
                "updated_at": now(),
            },
        )
    return on


def _refs(line: Line) -> list[str]:
    return [ref for ref in (line.msisdn or "", line.iccid) if ref]


# ---- recording and scheduling ---------------------------------------------------------------------------


def sweep(at: datetime) -> int:
    """The periodic sweep: record every earned reminder of every running bundle (a scan at most once a
    minute), and queue the jobs of lines with due reminders (every round: a night's wait ends at 08:00)."""
    recorded = 0
    if not _last_sweep or at - _last_sweep[-1] >= SWEEP_EVERY or at < _last_sweep[-1]:
        _last_sweep[:] = [at]
        earning = Q(expires_at__gt=at, expires_at__lte=at + LONGEST_WINDOW) | Q(
            data_kb__gt=0, used_kb__gte=F("data_kb") * 3 / 4
        )
        recorded, _lines = _record(BundleRecord.objects.filter(earning, status="active"), at)
    schedule(at)
    return recorded


def check(bundle_ids: Iterable[str], at: datetime) -> int:
    """Usage rating crossed a threshold on these bundles: record what they earned now, not a minute later
    (a few queries whatever the batch: it runs inside the rating's transaction)."""
    recorded, line_ids = _record(BundleRecord.objects.filter(id__in=set(bundle_ids), status="active"), at)
    if recorded:
        schedule(at, line_ids)
    return recorded


def _record(bundles: QuerySet[BundleRecord], at: datetime) -> tuple[int, set[str]]:
    """Write the due rows of reminders these bundles earned and never had; (how many, their lines)."""
    fields = ("id", "line_id", "used_kb", "data_kb", "validity_days", "expires_at")
    earned = [
        (row["id"], row["line_id"], kind)
        for row in bundles.values(*fields)
        for kind in due(used_kb=row["used_kb"], data_kb=row["data_kb"], validity_days=row["validity_days"],
                        expires_at=row["expires_at"], at=at)
    ]  # fmt: skip
    if not earned:
        return 0, set()
    known = set(
        BundleReminder.objects.filter(bundle_id__in={b for b, _l, _k in earned}).values_list(
            "bundle_id", "kind"
        )
    )
    fresh = [
        BundleReminder(id=new_id("rmd"), line_id=line_id, bundle_id=bundle_id, kind=str(kind), due_at=at)
        for bundle_id, line_id, kind in earned
        if (bundle_id, str(kind)) not in known
    ]
    BundleReminder.objects.bulk_create(fresh, ignore_conflicts=True)  # a concurrent twin is skipped
    return len(fresh), {r.line_id for r in fresh}


def schedule(at: datetime, line_ids: set[str] | None = None) -> int:
    """Queue a `remind` job for every line (of `line_ids`, or all) with due reminders and none queued, at the
    earliest moment the rules allow; a few queries per 500 lines."""
    pending = BundleReminder.objects.filter(status="due")
    if line_ids is not None:
        pending = pending.filter(line_id__in=line_ids)
    lines = sorted(set(pending.values_list("line_id", flat=True)))
    queued = 0
    for start in range(0, len(lines), SCHEDULE_BATCH):
        queued += _schedule_batch(at, lines[start : start + SCHEDULE_BATCH])
    return queued


def _schedule_batch(at: datetime, lines: list[str]) -> int:
    waiting = reduce(or_, (Q(subject_id__startswith=f"{line_id}@") for line_id in lines))
    busy = {
        subject.partition("@")[0]
        for subject in Job.objects.filter(waiting, kind=JOB_KIND, status="queued").values_list(
            "subject_id", flat=True
        )
    }
    sent = BundleReminder.objects.filter(line_id__in=lines, status="sent").values("line_id")
    last_sent = {row["line_id"]: row["last"] for row in sent.annotate(last=Max("sent_at"))}
    due = {}
    for line_id in lines:
        if line_id in busy:
            continue
        send_at = earliest_send(at, last_sent.get(line_id), BRUSSELS)
        due[f"{line_id}@{send_at:%Y%m%dT%H%M}"] = send_at
    jobs.add(JOB_KIND, due, at=at, skip_duplicates=True)
    return len(due)


def _last_sent(line_id: str) -> datetime | None:
    found = BundleReminder.objects.filter(line_id=line_id, status="sent").aggregate(last=Max("sent_at"))
    last = found["last"]
    return last if isinstance(last, datetime) else None


# ---- the job: choose, then send ---------------------------------------------------------------------------


def _until_morning_s(at: datetime) -> float:
    return max((earliest_send(at, None, BRUSSELS) - at).total_seconds(), 1.0)


def send_due(subject_id: str, attempt: int) -> JobResult:
    """The `remind` job of one line: choose today's reminder (if none went today) and send it, once."""
    line_id = subject_id.partition("@")[0]
    at = now()
    if is_quiet(at, BRUSSELS):  # a late or retried job never sends at night: it waits for the morning
        return JobResult(done=False, retry_in_s=_until_morning_s(at), note="quiet hours")
    with transaction.atomic():
        line = Line.objects.select_for_update().filter(id=line_id).first()
        if line is None:
            return JobResult(done=True, note="line is gone")
        todays = _choose(line, at)
    if todays is None:
        return JobResult(done=True, note="nothing to send")
    outcomes = _send(line, todays)
    if "retry" in outcomes:
        return JobResult(done=False, retry_in_s=min(30.0 * 2 ** min(attempt - 1, 6), 3600.0), note="retry")
    return JobResult(done=True, note=f"{todays.kind}: " + (",".join(outcomes) or "no address"))


def _choose(line: Line, at: datetime) -> BundleReminder | None:
    """Under the line's lock: today's reminder if one went already (its retries), else the most urgent due
    one, marked sent; the other due ones are dropped (or off, when the line opted out)."""
    pending = list(BundleReminder.objects.filter(line=line, status="due").select_related("bundle"))
    if not reminders_on(_refs(line)):
        BundleReminder.objects.filter(id__in=[r.id for r in pending], status="due").update(
            status="off", note="opted out"
        )
        return None
    last = _last_sent(line.id)
    if last is not None and local_day(last, BRUSSELS) == local_day(at, BRUSSELS):
        return BundleReminder.objects.filter(line=line, status="sent", sent_at=last).first()
    still = {r.id: r for r in pending if ReminderKind(r.kind) in _holds(r.bundle, at)}
    chosen_kind = most_urgent(ReminderKind(r.kind) for r in still.values())
    chosen = next((r for r in still.values() if r.kind == chosen_kind), None)
    for reminder in pending:
        if chosen is not None and reminder.id == chosen.id:
            continue
        note = f"dropped for {chosen.kind}" if chosen and reminder.id in still else "no longer holds"
        BundleReminder.objects.filter(id=reminder.id, status="due").update(status="dropped", note=note)
    if chosen is None or not BundleReminder.objects.filter(id=chosen.id, status="due").update(
        status="sent", sent_at=at
    ):
        return None
    chosen.sent_at = at
    return chosen


def _holds(bundle: BundleRecord, at: datetime) -> tuple[ReminderKind, ...]:
    """What the bundle still earns now (a bundle renewed, used up or ended since no longer needs it)."""
    if bundle.status != "active":
        return ()
    return due(used_kb=bundle.used_kb, data_kb=bundle.data_kb, validity_days=bundle.validity_days,
               expires_at=bundle.expires_at, at=at)  # fmt: skip


def _send(line: Line, reminder: BundleReminder) -> list[str]:
    message = reminder_text.render(line, reminder)
    outcomes: list[str] = []
    senders = notifications.configured()
    if message.sms_to and senders.sms is not None:
        sms, to = senders.sms, message.sms_to
        outcomes.append(
            notifications.deliver_once("reminder", "sms", reminder.id, to=to, language=message.language,
                                       send=lambda: sms.send(to, message.text))
        )  # fmt: skip
    if message.email_to and senders.mailer is not None:
        mailer, address = senders.mailer, message.email_to
        outcomes.append(
            notifications.deliver_once("reminder", "email", reminder.id, to=address,
                                       language=message.language,
                                       send=lambda: mailer.send(address, message.subject, message.text))
        )  # fmt: skip
    return outcomes


HANDLERS = {JOB_KIND: send_due}
