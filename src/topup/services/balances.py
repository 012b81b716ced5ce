"""Balances: a line's credit as its carrier states it, and the ledger's trial balance."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import translation

from topup.db import ledger
from topup.domain.errors import Conflict, NotFound
from topup.domain.money import Money
from topup.ports import CarrierBalance, CarrierBundle, CarrierOutcome, PortUnavailable
from topup.services import carrier_products, catalogue, peers, plan_text


@dataclass(frozen=True)
class LineBalance:
    msisdn: str
    network: str
    credit: Money
    valid_until: str | None
    source: str
    bundles: tuple[CarrierBundle, ...] = ()  # as the carrier reports them: what is left, until when


def check_balance(msisdn_text: str) -> LineBalance:
    found = catalogue.lookup(msisdn_text)
    if found.network is None:
        raise NotFound("no network is known for this number", code="network_unknown", field="msisdn")
    answer = peers.current().carrier(found.network).balance(found.network, found.msisdn)
    if isinstance(answer, CarrierBalance):
        return LineBalance(
            found.msisdn, found.network, answer.balance, answer.valid_until, "carrier", answer.bundles
        )
    if answer.outcome is CarrierOutcome.REJECTED and answer.code == "not_supported":
        # An aggregator route whose operator does not share line balances (DT One answers so for some).
        raise Conflict("the operator does not share this line's balance", code="balance_not_shared")
    if answer.outcome is CarrierOutcome.REJECTED:
        raise NotFound("the operator does not know this number", code="not_on_network", field="msisdn")
    raise PortUnavailable(answer.code or "carrier unavailable")


def carrier_bundle_documents(found: LineBalance) -> list[dict[str, object]]:
    """The bundles a carrier reports for a line, as the balance endpoint shows bundles (hosted ones too)."""
    if not found.bundles:  # most lines: no need to read the route's products
        return []
    plans = carrier_products.plans_by_product(peers.current().carrier_route(found.network))
    language = translation.get_language() or settings.LANGUAGE_CODE
    return [
        {
            "id": None,
            "plan_id": sold_as[0] if sold_as else None,
            "product_ref": b.product_ref,
            "name": plan_text.carrier_bundle_name(b, sold_as[0] if sold_as else None, language),
            "remaining_mb": b.data_left_mb or 0,
            "total_mb": b.data_total_mb,
            "unlimited": b.unlimited,
            "starts_at": None,
            "expires_at": b.expires_at,
            "status": "active",
        }
        for b, sold_as in ((b, plans.get(b.product_ref)) for b in found.bundles)
    ]


def trial_balance_document() -> dict[str, object]:
    totals = ledger.trial_balance()
    accounts = [
        {
            "id": a.id,
            "type": a.type,
            "currency": a.currency,
            "debits_minor": a.debits_posted,
            "credits_minor": a.credits_posted,
            "debits_pending_minor": a.debits_pending,
            "credits_pending_minor": a.credits_pending,
        }
        for a in ledger.account_totals()  # with the transfers the roll-up has not folded in yet
    ]
    return {
        "balanced": all(t.balanced for t in totals),
        "currencies": [
            {
                "currency": t.currency,
                "debits_minor": t.debits_minor,
                "credits_minor": t.credits_minor,
                "transfers_minor": t.transfers_minor,
                "balanced": t.balanced,
            }
            for t in totals
        ],
        "accounts": accounts,
    }
