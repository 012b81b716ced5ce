"""Staff's side of shops: a retailer, its commissions and terminals, and float top-ups by bank transfer.

A terminal's secret is made here and shown once; only its sealed form is kept (db/models/retail.py). A float
top-up is idempotent on the bank reference: the same transfer recorded twice credits the float once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from topup.clock import new_id, now
from topup.db import ledger
from topup.db.models import Commission, FloatTopUp, Retailer, Terminal
from topup.domain import ledger as postings
from topup.domain import retail as rules
from topup.domain.errors import Conflict, InvalidInput, NotFound
from topup.domain.money import Money

log = logging.getLogger(__name__)
TERMINAL_KINDS = ("pos", "kiosk")


def create_retailer(
    name: str, *, vat_number: str = "", credit_limit_minor: int = 0, address_lines: tuple[str, ...] = (),
    language: str = "nl", retailer_id: str = "",
) -> Retailer:  # fmt: skip
    if not name.strip():
        raise InvalidInput("a retailer needs a name", code="invalid_retailer", field="name")
    if credit_limit_minor < 0:
        raise InvalidInput("a credit limit cannot be negative", code="invalid_amount", field="credit")
    return Retailer.objects.create(
        id=retailer_id or new_id("rtl"), name=name.strip()[:120], vat_number=vat_number.strip()[:20],
        credit_limit_minor=credit_limit_minor, address_lines=list(address_lines), language=language,
        created_at=now(),
    )  # fmt: skip


def find_retailer(retailer_id: str) -> Retailer:
    retailer = Retailer.objects.filter(id=retailer_id).first()
    if retailer is None:
        raise NotFound(f"no retailer {retailer_id!r}", code="retailer_not_found", field="retailer")
    return retailer


@dataclass(frozen=True)
class TerminalCredentials:
    terminal_id: str
    secret: str  # shown once, to be typed into the terminal


def create_terminal(
    retailer_id: str, label: str, *, kind: str = "pos", terminal_id: str = "", secret: str = ""
) -> TerminalCredentials:
    """Register a terminal; its secret is returned once (a fixed one only for the demo's seed)."""
    retailer = find_retailer(retailer_id)
    if kind not in TERMINAL_KINDS:
        raise InvalidInput("a terminal is pos or kiosk", code="invalid_terminal_kind", field="kind")
    secret = secret or secrets.token_urlsafe(32)
    terminal = Terminal.objects.create(
        id=terminal_id or new_id("trm"), retailer=retailer, label=label[:80], kind=kind, secret=secret,
        created_at=now(),
    )  # fmt: skip
    log.info("terminal registered", extra={"terminal": terminal.id, "retailer": retailer.id})
    return TerminalCredentials(terminal.id, secret)


def set_commission(retailer_id: str, rate_bp: int, *, network_id: str = "", plan_id: str = "") -> None:
    """Set (or replace) the retailer's commission for a plan, a network, or by default."""
    find_retailer(retailer_id)
    rules.CommissionRule(rate_bp, network_id=network_id, plan_id=plan_id)  # validates the rate
    Commission.objects.update_or_create(
        retailer_id=retailer_id, network_id=network_id, plan_id=plan_id, defaults={"rate_bp": rate_bp}
    )


def float_topup(
    retailer_id: str, amount_minor: int, *, bank_reference: str, recorded_by: str
) -> tuple[str, bool]:
    """Credit a bank transfer to the float; (top-up id, True) once, (the first one's id, False) again."""
    rules.positive_amount(amount_minor, "amount")
    reference = bank_reference.strip()
    if not reference:
        raise InvalidInput(
            "a float top-up needs the bank reference", code="bank_reference_required", field="reference"
        )
    retailer = find_retailer(retailer_id)
    first = FloatTopUp.objects.filter(bank_reference=reference).first()
    if first is not None:
        return _same_transfer(first, retailer.id, amount_minor), False
    at = now()
    topup = FloatTopUp(
        id=new_id("flt"), retailer=retailer, amount_minor=amount_minor, currency=retailer.currency,
        bank_reference=reference, recorded_by=recorded_by[:150], at=at,
    )  # fmt: skip
    try:
        with transaction.atomic():
            topup.save(force_insert=True)
            Retailer.objects.filter(id=retailer.id).update(float_minor=F("float_minor") + amount_minor)
            amount = Money(amount_minor, retailer.currency)
            ledger.post(postings.float_topped_up(topup.id, retailer.id, amount), now=at)
    except IntegrityError:
        first = FloatTopUp.objects.get(bank_reference=reference)  # recorded concurrently
        return _same_transfer(first, retailer.id, amount_minor), False
    log.info("float topped up", extra={"retailer": retailer.id, "outcome": topup.id})
    return topup.id, True


def _same_transfer(first: FloatTopUp, retailer_id: str, amount_minor: int) -> str:
    if first.retailer_id != retailer_id or first.amount_minor != amount_minor:
        raise Conflict(
            "this bank reference was recorded for another retailer or amount", code="bank_reference_used",
            field="reference",
        )  # fmt: skip
    return first.id


def retailers() -> list[dict[str, object]]:
    return [
        {
            "id": r.id, "name": r.name, "vat_number": r.vat_number, "active": r.active,
            "float": str(Money(r.float_minor, r.currency)),
            "credit_limit": str(Money(r.credit_limit_minor, r.currency)),
            "terminals": [t.id for t in r.terminals.all()],
        }
        for r in Retailer.objects.order_by("name").prefetch_related("terminals")
    ]  # fmt: skip
