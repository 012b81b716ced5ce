"""A bundle reminder as the customer reads it: in the line's language, with the cheapest plan that fits
(`domain.reminders.renewal_plan`), its price, and a link to renew; dates and money by Babel."""

from __future__ import annotations

from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal
from django.utils import translation
from django.utils.translation import gettext as _

from topup.clock import BRUSSELS
from topup.db.models import BundleRecord, BundleReminder, Line, LinePreference, Order
from topup.domain.catalogue import Plan
from topup.domain.commands import LANGUAGES
from topup.domain.errors import NotFound
from topup.domain.reminders import USAGE_PERCENT, ReminderKind, renewal_plan
from topup.services import catalogue, selfcare
from topup.services.fx_text import money_text
from topup.services.notifications import BABEL_LOCALES, Outgoing
from topup.services.plan_text import plan_title
from topup.settings import CONFIG


def _language_and_email(line: Line) -> tuple[str, str]:
    """The language chosen for the line's number, else for its ICCID, else the line's own; the e-mail address
    given for either, else the one on the line's latest order."""
    language = selfcare.language_of(line.iccid, line.language if line.language in LANGUAGES else None)
    if line.msisdn:
        language = selfcare.language_of(line.msisdn, language)
    emails = (
        LinePreference.objects.filter(line_ref=ref).values_list("email", flat=True).first() or ""
        for ref in (line.msisdn or "", line.iccid)
        if ref
    )
    email = next((e for e in emails if e), "")
    if not email:
        latest = Order.objects.filter(line=line).exclude(email_index="").order_by("-created_at").first()
        email = latest.email if latest is not None and latest.email else ""
    return (language if language in LANGUAGES else selfcare.DEFAULT_LANGUAGE), email


def _data_text(mb: int, locale: str) -> str:
    if mb >= 1024:
        return f"{format_decimal(mb / 1024, format='#,##0.#', locale=locale)} GB"
    return f"{mb} MB"


def renew_link(line: Line, plan: Plan | None) -> str:
    """Top up the number with the offered plan prefilled; an eSIM without a number goes to "My eSIMs"."""
    if line.msisdn:
        query = {"msisdn": line.msisdn, **({"plan": plan.id} if plan else {})}
        return f"{CONFIG.public_url}/topup?{urlencode(query)}"
    return f"{CONFIG.public_url}/my/esims"


def _current_plan(bundle: BundleRecord) -> Plan | None:
    try:
        return catalogue.plan_and_network(bundle.plan_id)[0]
    except NotFound:
        return None


def render(line: Line, reminder: BundleReminder) -> Outgoing:
    bundle: BundleRecord = reminder.bundle
    language, email = _language_and_email(line)
    locale = BABEL_LOCALES[language]
    current = _current_plan(bundle)
    offer = renewal_plan(current, catalogue.plans(line.network_id))
    kind = ReminderKind(reminder.kind)
    with translation.override(language):
        values = {
            "plan": plan_title(bundle.plan_id, language),
            "date": format_date(bundle.expires_at.astimezone(BRUSSELS).date(), "medium", locale=locale)
            if bundle.expires_at
            else "-",
            "percent": min(bundle.used_kb * 100 // bundle.data_kb, 100) if bundle.data_kb else 0,
            "left": _data_text(max((bundle.data_kb or 0) - bundle.used_kb, 0) // 1024, locale),
        }
        if kind in USAGE_PERCENT:
            text = _("You have used %(percent)s%% of your %(plan)s data: %(left)s left, until "
                     "%(date)s.") % values  # fmt: skip
        else:
            text = _("Your %(plan)s data ends on %(date)s.") % values
        link = renew_link(line, offer)
        if offer is not None:
            offered = {"offer": plan_title(offer.id, language), "price": money_text(offer.price, locale)}
            text += " " + _("Renew with %(offer)s for %(price)s: %(link)s") % {**offered, "link": link}
        else:
            text += " " + _("Renew here: %(link)s") % {"link": link}
        if line.msisdn:
            text += " " + _("Reply REMINDERS OFF to stop these reminders.")
        subject = _("Your data bundle")
    return Outgoing(language, line.msisdn or "", email, str(subject), str(text))
