"""Self-care for a line, whatever the channel (SMS, USSD, IVR): balance, voucher, buying, language.

Channels turn these answers into words; nothing here knows how a reply is phrased.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from topup.clock import now
from topup.db.models import BundleRecord, Line, LinePreference
from topup.domain.commands import LANGUAGES
from topup.domain.errors import InvalidInput, NotFound
from topup.domain.identifiers import parse_belgian_mobile
from topup.domain.money import Money
from topup.services import balances, catalogue

DEFAULT_LANGUAGE = "nl"  # Belgium's most spoken language; a line's own choice always wins


@dataclass(frozen=True)
class BundleLeft:
    plan_name: str
    remaining_mb: int
    unlimited: bool
    expires_at: str | None


@dataclass(frozen=True)
class LineBalance:
    line_ref: str
    network_name: str
    credit: Money
    valid_until: str | None
    bundles: tuple[BundleLeft, ...] = ()


def language_of(line_ref: str, fallback: str | None = None) -> str:
    preference = LinePreference.objects.filter(line_ref=line_ref).values_list("language", flat=True).first()
    return preference or fallback or DEFAULT_LANGUAGE


def set_language(line_ref: str, language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(
            f"unsupported language {language!r}", code="unsupported_language", field="language"
        )
    LinePreference.objects.update_or_create(
        line_ref=line_ref, defaults={"language": language, "chosen": True, "updated_at": now()}
    )
    return language


def remember_language(line_ref: str, language: str | None) -> None:
    """A message written in Dutch or Chinese tells us how to answer (receipts too), unless the customer
    chose a language explicitly (LANG, the USSD or IVR menu, the website): that choice stays."""
    if language not in LANGUAGES:
        return
    LinePreference.objects.filter(line_ref=line_ref, chosen=False).exclude(language=language).update(
        language=language, updated_at=now()
    )
    LinePreference.objects.get_or_create(
        line_ref=line_ref, defaults={"language": language, "updated_at": now()}
    )


def balance(line_ref: str) -> LineBalance:
    """Credit, validity and bundles: from the carrier for external numbers, from our books when hosted."""
    hosted = Line.objects.filter(msisdn=line_ref).first() or Line.objects.filter(iccid=line_ref).first()
    if hosted is not None:
        names = {p.id: p.name for p in catalogue.plans()}
        bundles = tuple(
            BundleLeft(names.get(b.plan_id, b.plan_id), b.to_domain().remaining_kb // 1024, b.data_kb is None,
                       b.expires_at.date().isoformat() if b.expires_at else None)
            for b in BundleRecord.objects.filter(line=hosted, status__in=("active", "pending")).order_by(
                F("expires_at").asc(nulls_last=True)
            )
        )  # fmt: skip
        credit = Money(hosted.credit_minor, hosted.currency)
        return LineBalance(line_ref, _network_name(hosted.network_id), credit, None, bundles)
    found = balances.check_balance(parse_belgian_mobile(line_ref))
    return LineBalance(found.msisdn, _network_name(found.network), found.credit, found.valid_until)


def _network_name(network_id: str) -> str:
    for network in catalogue.networks():
        if network.id == network_id:
            return network.name
    raise NotFound(f"no network {network_id!r}", code="network_unknown")


def plans_for(line_ref: str) -> list[tuple[str, str, Money]]:
    """(code, name, price) of the plans a line can buy, cheapest first."""
    hosted = Line.objects.filter(msisdn=line_ref).first() or Line.objects.filter(iccid=line_ref).first()
    network_id = hosted.network_id if hosted else catalogue.lookup(line_ref).network
    plans = [p for p in catalogue.plans(network_id) if p.code] if network_id else []
    return [(p.code, p.name, p.price) for p in sorted(plans, key=lambda p: p.price.amount_minor)]


def plan_id_for_code(line_ref: str, code: str) -> str:
    hosted = Line.objects.filter(msisdn=line_ref).first()
    network_id = hosted.network_id if hosted else catalogue.lookup(line_ref).network
    for plan in catalogue.plans(network_id):
        if plan.code == code:
            return plan.id
    raise NotFound(f"no plan {code!r} for this number", code="plan_not_found", field="plan_id")
