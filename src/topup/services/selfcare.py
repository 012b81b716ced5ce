"""Self-care for a line, whatever the channel (SMS, USSD, IVR): balance, voucher, buying, language.

Channels turn these answers into words; nothing here knows how a reply is phrased.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from django.db.models import F, Q
from django.utils import translation

from topup.clock import new_id, now
from topup.db.models import BundleRecord, Line, LinePreference
from topup.domain.catalogue import Plan, buyable_from_credit
from topup.domain.commands import LANGUAGES
from topup.domain.errors import InvalidInput, NotFound
from topup.domain.identifiers import parse_belgian_mobile
from topup.domain.money import Money
from topup.ports import CarrierBundle, CarrierOutcome, CarrierResult, PortUnavailable
from topup.services import balances, carrier_products, catalogue, peers, plan_text

log = logging.getLogger(__name__)

# The outcome of asking to buy a credit plan (or for a line whose credit no carrier holds) from credit: not an
# error shown to anyone, the channels offer to pay for the plan instead.
NOT_FROM_CREDIT: Final = "not_from_credit"
DEFAULT_LANGUAGE = "nl"  # Belgium's most spoken language; a line's own choice always wins


@dataclass(frozen=True)
class BundleLeft:
    """A bundle as every channel shows it, hosted or at a carrier: name, data left of its total, end."""

    plan_name: str
    remaining_mb: int
    unlimited: bool
    expires_at: str | None  # ISO date or date-time
    total_mb: int | None = None  # None: unlimited, or not known


@dataclass(frozen=True)
class PurchaseResult:
    """A plan bought from the line's credit (`ok`), or why not: `code` insufficient_balance, not_from_credit
    (a credit plan, or a line whose credit we do not hold at a carrier), not_on_network, ..."""

    ok: bool
    plan_name: str
    price: Money
    balance_after: Money | None = None
    code: str | None = None


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
        bundles = tuple(
            BundleLeft(_bundle_title(b.plan_id), b.to_domain().remaining_kb // 1024,
                       b.data_kb is None, b.expires_at.date().isoformat() if b.expires_at else None,
                       b.data_kb // 1024 if b.data_kb is not None else None)
            for b in BundleRecord.objects.filter(line=hosted, status__in=("active", "pending")).order_by(
                F("expires_at").asc(nulls_last=True)
            )
        )  # fmt: skip
        credit = Money(hosted.credit_minor, hosted.currency)
        return LineBalance(line_ref, _network_name(hosted.network_id), credit, None, bundles)
    found = balances.check_balance(parse_belgian_mobile(line_ref))
    bundles = _carrier_bundles(found.network, found.bundles)
    return LineBalance(found.msisdn, _network_name(found.network), found.credit, found.valid_until, bundles)


def _carrier_bundles(network_id: str, held: tuple[CarrierBundle, ...]) -> tuple[BundleLeft, ...]:
    """A carrier's bundles under the names of the plans we sold them as (the carrier's name otherwise)."""
    if not held:
        return ()
    plans = carrier_products.plans_by_product(peers.current().carrier_route(network_id))
    return tuple(
        BundleLeft(_carrier_bundle_name(plans.get(b.product_ref), b), b.data_left_mb or 0, b.unlimited,
                   b.expires_at, None if b.unlimited else b.data_total_mb)
        for b in held
    )  # fmt: skip


def _bundle_title(plan_id: str) -> str:
    return _plain(plan_text.plan_title(plan_id, _language()))


def _carrier_bundle_name(sold_as: tuple[str, str] | None, bundle: CarrierBundle) -> str:
    return _plain(plan_text.carrier_bundle_name(bundle, sold_as[0] if sold_as else None, _language()))


def _language() -> str:
    """The language the channel answers in (it calls us inside `translation.override`)."""
    return translation.get_language() or DEFAULT_LANGUAGE


def _title(plan: Plan) -> str:
    return _plain(plan_text.title_of(plan, _language()))


def _plain(title: str) -> str:
    """A title for a phone's screen: plain spaces (no-break spaces are not in the GSM alphabet)."""
    return title.replace("\u00a0", " ").replace("\u202f", " ")


def _network_name(network_id: str) -> str:
    return plan_text.network_brand(network_id)


def _network_of(line_ref: str) -> str | None:
    """Our hosted line's network, else the network we last delivered to or the range holder."""
    hosted = Line.objects.filter(Q(msisdn=line_ref) | Q(iccid=line_ref)).values_list("network_id", flat=True)
    return hosted.first() or catalogue.lookup(line_ref).network


def _by_price(plans: list[Plan]) -> list[tuple[str, str, Money]]:
    return [(p.code, _title(p), p.price) for p in sorted(plans, key=lambda p: p.price.amount_minor)]


def _plan_by_code(network_id: str | None, code: str) -> Plan:
    plan = next((p for p in catalogue.plans(network_id) if p.code == code), None) if network_id else None
    if plan is None:
        raise NotFound(f"no plan {code!r} for this number", code="plan_not_found", field="plan_id")
    return plan


def plans_for(line_ref: str) -> list[tuple[str, str, Money]]:
    """(code, name, price) of the plans a line can buy, cheapest first."""
    network_id = _network_of(line_ref)
    return _by_price([p for p in catalogue.plans(network_id) if p.code] if network_id else [])


def plan_id_for_code(line_ref: str, code: str) -> str:
    return _plan_by_code(_network_of(line_ref), code).id


def bundles_for(line_ref: str) -> list[tuple[str, str, Money]]:
    """(code, name, price) of the plans a line can buy from its credit, cheapest first."""
    network_id = catalogue.lookup(line_ref).network
    if network_id is None:
        return []
    network = catalogue.network_by_id(network_id)
    buyable = [p for p in catalogue.plans(network_id) if p.code and buyable_from_credit(p, network)]
    return _by_price([p for p in buyable if carrier_products.for_plan(p, network) is not None])


def buy_from_credit(line_ref: str, plan_code: str) -> PurchaseResult:
    """Buy the plan `plan_code` with the line's prepaid credit, held and debited by its carrier, which
    activates the route's product for it (the `carrier_product` table).

    No money passes through us, so there is no order and no ledger posting: only a log line. A carrier
    answer that is not conclusive is asked again once with the same reference (it debits at most once);
    still nothing conclusive raises `PortUnavailable`.
    """
    found = catalogue.lookup(line_ref)
    if found.network is None:
        raise NotFound("no network is known for this number", code="network_unknown", field="msisdn")
    plan = _plan_by_code(found.network, plan_code)
    network = catalogue.network_by_id(found.network)
    if not buyable_from_credit(plan, network):
        return PurchaseResult(False, _title(plan), plan.price, code=NOT_FROM_CREDIT)
    product_ref = carrier_products.for_plan(plan, network)
    if product_ref is None:  # the carrier would not know what to activate: never debit for nothing
        return PurchaseResult(False, _title(plan), plan.price, code="plan_not_deliverable")
    reference = new_id("buy")
    gateway = peers.current().carrier(found.network)
    answer = gateway.buy_from_balance(found.network, found.msisdn, product_ref, plan.price, reference)
    if answer.outcome in (CarrierOutcome.RETRY, CarrierOutcome.UNKNOWN):
        answer = gateway.buy_from_balance(found.network, found.msisdn, product_ref, plan.price, reference)
    facts = {"line": found.msisdn, "network": found.network, "plan_id": plan.id, "reference": reference}
    return _purchase_result(answer, plan, facts | {"outcome": str(answer.outcome)})


def _purchase_result(answer: CarrierResult, plan: Plan, facts: dict[str, str]) -> PurchaseResult:
    if answer.outcome is CarrierOutcome.CONFIRMED:
        log.info("plan bought from credit", extra=facts)
        return PurchaseResult(True, _title(plan), plan.price, balance_after=answer.balance_after)
    if answer.outcome is CarrierOutcome.REJECTED:
        log.info("purchase from credit refused: %s", answer.code, extra=facts)
        return PurchaseResult(False, _title(plan), plan.price, code=answer.code or "rejected")
    log.warning("purchase from credit inconclusive: %s", answer.code, extra=facts)
    raise PortUnavailable(answer.code or "carrier unavailable")
