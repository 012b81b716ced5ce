"""Plan and network names as a customer reads or hears them, in their language: the one place every channel
(web, SMS, USSD, IVR, e-mail, receipts, the agent console) takes a plan's title and a network's brand from.

A plan's title is composed from its facts (`domain.plan_titles`), never its stored English name: the words
come from the gettext catalogues, the money from Babel (`services.locale_text`).
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext, npgettext, pgettext

from topup.db.models import NetworkRecord, PlanRecord
from topup.domain.catalogue import Plan
from topup.domain.errors import NotFound
from topup.domain.plan_titles import PART_SEPARATOR, BundleTitle, CreditTitle, DataSize, compose, data_size
from topup.pii import mask_msisdn
from topup.ports import CarrierBundle
from topup.services import catalogue, locale_text


def plan_title(plan_id: str, language: str) -> str:
    """The plan's title in `language`, also of a plan no longer on sale (orders in flight, receipts)."""
    plan = _plan(plan_id)
    return title_of(plan, language) if plan is not None else catalogue.plan_name(plan_id)


def title_of(plan: Plan, language: str) -> str:
    """The title of a plan at hand (a list of plans words each without reading it again)."""
    facts = compose(plan)
    with translation.override(language):
        if isinstance(facts, CreditTitle):
            amount = locale_text.money_title(facts.amount, language)  # "€ 10", "10 €", "10欧元"
            return pgettext("plan title", "%(amount)s credit") % {"amount": amount}
        return _bundle_title(facts, language)


def _bundle_title(facts: BundleTitle, language: str) -> str:
    data = gettext("Unlimited") if facts.data is None else data_text(facts.data, language)
    days = facts.validity_days
    validity = npgettext("plan title", "%(days)s day", "%(days)s days", days) % {"days": days}
    return f"{data}{PART_SEPARATOR}{validity}"


def carrier_bundle_name(bundle: CarrierBundle, sold_as: str | None, language: str) -> str:
    """A bundle a carrier reports: the title of the plan we sold it as, else the carrier's own name, else
    (an aggregator's benefits name nothing) its data in the reader's language: "5 GB", "Unlimited", "流量"."""
    if sold_as:
        return plan_title(sold_as, language)
    if bundle.name:
        return bundle.name
    with translation.override(language):
        if bundle.unlimited:
            return gettext("Unlimited")
        if bundle.data_total_mb:
            return data_text(data_size(bundle.data_total_mb), language)
        return gettext("Data")


def data_text(size: DataSize, language: str) -> str:
    """ "1 GB", "1,5 Go", "500 MB" in the active language."""
    if size.unit == "MB":
        return pgettext("data", "%(amount)s MB") % {"amount": locale_text.number(size.value, language)}
    value = size.value // 10 if size.whole else size.value / 10
    return pgettext("data", "%(amount)s GB") % {"amount": locale_text.number(value, language)}


def _plan(plan_id: str) -> Plan | None:
    try:
        return catalogue.plan_and_network(plan_id)[0]
    except NotFound:
        record = PlanRecord.objects.filter(id=plan_id).first()  # withdrawn from sale since
        return record.to_domain() if record is not None else None


def network_brand(network_id: str) -> str:
    """The network's brand as customers know it ("Orange Belgium", "BASE"), never its id; a network taken
    off the catalogue since keeps its stored brand."""
    try:
        return catalogue.network_by_id(network_id).name
    except NotFound:
        stored = NetworkRecord.objects.filter(id=network_id).values_list("name", flat=True).first()
        return stored or network_id


def payment_description(plan_id: str, msisdn: str, language: str) -> str:
    """What the payment page and the bank statement show: the plan's title and the number masked (the
    provider keeps it, so never the whole number), e.g. "€ 10 beltegoed · +32 470 •• •• 56"."""
    title = plan_title(plan_id, language)
    return f"{title}{PART_SEPARATOR}{mask_msisdn(msisdn)}" if msisdn else title
