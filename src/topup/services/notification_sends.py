"""Sending a `notify` job's message by SMS and e-mail, each channel at most once, with the job as the record.

The worker's claim of the job is the commit made before anything is handed over: no notification row is
claimed in commits of its own. After sending, the outcome (`Notification` rows: sent, refused and to be
retried, or unknown) is written by `JobResult.record` in the same transaction that marks the job done or
due again, so that finishing the job IS recording the send.

A crash (or a lease that ran out) between handing a message over and that commit leaves the job queued
with its lease token still set. The next claim sees that token and says so (`abandoned`): the message may
have gone, so it is not sent again: its channels are recorded as `sending` (outcome unknown) and the job is
done. At most once, on purpose, as before: a duplicate receipt reads as a second charge and costs an SMS;
a lost one is rare and the order stays visible on every channel. Only a sure refusal (NotSent) is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from topup.clock import new_id, now
from topup.db.models import Notification
from topup.ports import NotSent
from topup.services import notifications
from topup.services.delivery import JobResult
from topup.services.notifications import Outgoing

log = logging.getLogger(__name__)

FINAL = ("sent", "sending", "failed")  # a row in one of these is never sent again


@dataclass(frozen=True)
class _Outcome:
    channel: str
    to: str
    status: str  # sent | queued (refused, retried) | failed | sending (unknown)
    attempts: int
    row_id: str | None  # the channel's row from an earlier attempt, else None


def send_job(subject_id: str, attempt: int, *, abandoned: bool = False) -> JobResult:
    """The `notify` job: render in the customer's language and send once per channel; the outcome is
    written by the returned result's `record`, inside the worker's marking of the job."""
    kind, _sep, ref = subject_id.partition(":")
    message = notifications.render(kind, ref)
    if message is None:
        return JobResult(done=True, note=f"{kind}: subject {ref} is gone")
    channels = _channels(message)
    if not channels:
        return JobResult(done=True, note="no address")
    earlier = {
        row.channel: row
        for row in Notification.objects.filter(
            kind=kind, subject_id=ref, channel__in=[c for c, _t, _s in channels]
        )
    }
    outcomes: list[_Outcome] = []
    notes: list[str] = []
    for channel, to, send in channels:
        row = earlier.get(channel)
        if row is not None and row.status in FINAL:
            if row.status == "sending":
                log.warning("notification %s was handed over before; outcome unknown, not resent", row.id)
            notes.append("skipped")
            continue
        outcome = _send(channel, to, send, (row.attempts if row else 0) + 1, abandoned=abandoned)
        outcomes.append(_Outcome(channel, to, outcome.status, outcome.attempts, row.id if row else None))
        notes.append(_NOTES[outcome.status])
    at = now()

    def record() -> None:
        _record(kind, ref, message.language, outcomes, at)

    if "retry" in notes:
        retry_in_s = min(30.0 * 2 ** min(attempt - 1, 6), 3600.0)
        return JobResult(done=False, retry_in_s=retry_in_s, note="retry", record=record)
    return JobResult(done=True, note=",".join(notes), record=record)


_NOTES = {"sent": "sent", "queued": "retry", "failed": "failed", "sending": "unknown"}


def _channels(message: Outgoing) -> list[tuple[str, str, Callable[[], None]]]:
    """(channel, address, send) for each configured channel the message has an address for."""
    senders = notifications.configured()
    found: list[tuple[str, str, Callable[[], None]]] = []
    # A channel that this deployment has not configured (TOPUP_SMSC_HOST or TOPUP_SMTP_HOST empty) is skipped.
    if message.sms_to and senders.sms is not None:
        sms, sms_to = senders.sms, message.sms_to
        found.append(("sms", sms_to, lambda: sms.send(sms_to, message.text)))
    if message.email_to and senders.mailer is not None:
        email_to = message.email_to
        found.append(("email", email_to, lambda: notifications.send_mail(email_to, message)))
    return found


@dataclass(frozen=True)
class _Tried:
    status: str
    attempts: int


def _send(channel: str, to: str, send: Callable[[], None], tries: int, *, abandoned: bool) -> _Tried:
    if abandoned:  # an earlier run died after its claim: the message may have been handed over
        log.warning("notify job abandoned by an earlier run; %s outcome unknown, not resent", channel)
        return _Tried("sending", tries)
    try:
        send()
    except NotSent as exc:
        log.warning("%s notification not sent: %s", channel, exc)
        return _Tried("failed" if tries >= notifications.MAX_ATTEMPTS else "queued", tries)
    except Exception:
        log.exception("%s notification: outcome unknown, recorded as sending", channel)
        return _Tried("sending", tries)
    return _Tried("sent", tries)


def _record(kind: str, ref: str, language: str, outcomes: list[_Outcome], at: datetime) -> None:
    """The channels' outcomes: new rows in one INSERT, rows of earlier attempts updated while queued."""
    new = [
        Notification(id=new_id("ntf"), kind=kind, channel=o.channel, subject_id=ref, to=o.to,
                     language=language, status=o.status, attempts=o.attempts, created_at=at,
                     sent_at=_sent_at(o, at))
        for o in outcomes
        if o.row_id is None
    ]  # fmt: skip
    # ignore_conflicts: a row another path wrote meanwhile keeps what it says.
    Notification.objects.bulk_create(new, ignore_conflicts=True)
    for o in outcomes:
        if o.row_id is not None:
            Notification.objects.filter(id=o.row_id, status="queued").update(
                status=o.status, attempts=o.attempts, to=o.to, language=language,
                sent_at=_sent_at(o, at),
            )  # fmt: skip


def _sent_at(outcome: _Outcome, at: datetime) -> datetime | None:
    return at if outcome.status == "sent" else None
