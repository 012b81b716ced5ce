"""What auto top-up tells the customer, by SMS and e-mail in the first order's language, each with the
one-click cancel link: switched on, a reminder before a periodic charge, charged, skipped over the cap,
paused after failed charges.

Enqueued as `notify` jobs (services/notifications sends them, each once); `render` writes them.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime
from django.utils import translation
from django.utils.translation import gettext as _

from topup.clock import BRUSSELS
from topup.db.models import AutoTopup, AutoTopupRun, LinePreference, Order
from topup.domain.commands import LANGUAGES
from topup.domain.money import Money
from topup.services import jobs, plan_text
from topup.services.fx_text import money_text
from topup.services.notifications import BABEL_LOCALES, Outgoing

KINDS = ("auto_started", "auto_reminder", "auto_charged", "auto_capped", "auto_paused")


def _enqueue(kind: str, ref: str, at: datetime) -> None:
    jobs.add_one("notify", f"{kind}:{ref}", at=at, skip_duplicate=True)


def started(auto_topup_id: str, at: datetime) -> None:
    _enqueue("auto_started", auto_topup_id, at)


def reminder(auto_topup_id: str, period_key: str, at: datetime) -> None:
    _enqueue("auto_reminder", f"{auto_topup_id}@{period_key}", at)


def charged(run_id: str, at: datetime) -> None:
    _enqueue("auto_charged", run_id, at)


def capped(run_id: str, at: datetime) -> None:
    _enqueue("auto_capped", run_id, at)


def paused(run_id: str, at: datetime) -> None:
    _enqueue("auto_paused", run_id, at)


def _when_text(found: AutoTopup, money: str) -> str:
    if found.period == "weekly":
        return _("every week")
    if found.period == "fortnightly":
        return _("every two weeks")
    if found.period == "monthly":
        return _("every month")
    if found.threshold_minor:
        return _("when your credit is below %(amount)s") % {"amount": money}
    return _("when your bundle is almost used up or about to expire")


def render(kind: str, ref: str) -> Outgoing | None:
    """The message of a `notify` job of one of KINDS; None when its subject is gone."""
    from topup.services import autotopup  # noqa: PLC0415 - autotopup enqueues through this module

    run: AutoTopupRun | None = None
    if kind in {"auto_started", "auto_reminder"}:
        found = AutoTopup.objects.filter(id=ref.partition("@")[0]).first()
    else:
        run = AutoTopupRun.objects.select_related("auto_topup").filter(id=ref).first()
        found = run.auto_topup if run else None
    if found is None:
        return None
    origin = Order.objects.select_related("line").get(id=found.origin_id)
    language = origin.language if origin.language in LANGUAGES else "en"
    locale = BABEL_LOCALES[language]
    with translation.override(language):
        values = {
            "plan": plan_text.plan_title(found.plan_id, language),
            "line": origin.msisdn
            or (origin.line.msisdn if origin.line and origin.line.msisdn else "")
            or (origin.line.iccid if origin.line else origin.iccid),
            "card": found.card_label or _("your card"),
            "cap": money_text(Money(found.cap_minor, found.currency), locale),
            "amount": money_text(
                Money(run.amount_minor if run else origin.total_minor, found.currency), locale
            ),
            "date": format_datetime(found.next_run_at, "short", tzinfo=BRUSSELS, locale=locale)
            if found.next_run_at
            else "-",
        }
        values["when"] = _when_text(found, money_text(Money(found.threshold_minor, found.currency), locale))
        text = _body(kind, values)
        link = _("Cancel auto top-up: %(link)s") % {"link": autotopup.cancel_url(found.id)}
        subject = _("Your auto top-up")
    sms_to = origin.msisdn or (origin.line.msisdn or "" if origin.line else "")
    return Outgoing(language, sms_to, _email(origin, sms_to), str(subject), f"{text} {link}")


def _email(origin: Order, sms_to: str) -> str:
    """The first order's e-mail address, else the one the customer gave for the line."""
    if origin.email:
        return str(origin.email)
    refs = [r for r in (sms_to, origin.line.iccid if origin.line else origin.iccid) if r]
    preference = LinePreference.objects.filter(line_ref=refs[0]).first() if refs else None
    return str(preference.email) if preference else ""


def _body(kind: str, values: dict[str, str]) -> str:
    if kind == "auto_started":
        return _("Auto top-up is on: %(plan)s for %(line)s %(when)s, paid with %(card)s, at most %(cap)s a "
                 "month.") % values  # fmt: skip
    if kind == "auto_reminder":
        return _("Reminder: on %(date)s we top up %(line)s with %(plan)s and charge %(amount)s to "
                 "%(card)s.") % values  # fmt: skip
    if kind == "auto_charged":
        return _("Auto top-up: %(amount)s charged to %(card)s for %(plan)s on %(line)s.") % values
    if kind == "auto_capped":
        return _("Auto top-up skipped: %(plan)s for %(line)s would go over your limit of %(cap)s a "
                 "month.") % values  # fmt: skip
    return _("Auto top-up paused: we could not charge %(card)s for %(plan)s on %(line)s. Nothing was "
             "charged. Top up once by hand to set it up again.") % values  # fmt: skip
