"""A shop's sale: a direct top-up or a PIN, paid from the retailer's float, in one transaction.

`sell` is the one way a POS terminal or a kiosk sells (the POS API and the kiosk call it). The terminal's
own reference is the idempotency key: the same request again answers the first answer, another request
under the same reference is refused (409 terminal_ref_conflict). The float is checked and taken by one
conditional UPDATE, so concurrent sales can never take it below minus the credit limit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import translation

from topup.clock import new_id, now
from topup.db import ledger
from topup.db.models import Commission, Retailer, Sale, Shift, ShiftMovement, Terminal, Voucher
from topup.domain import ledger as postings
from topup.domain import retail as rules
from topup.domain.errors import InvalidInput, NotFound
from topup.domain.money import Money
from topup.domain.shifts import MovementKind, not_open
from topup.domain.vouchers import PIN_LENGTHS as PIN_NETWORKS
from topup.services import catalogue, orders, plan_text, vouchers
from topup.services.paid_orders import PaidBy, create_paid_order
from topup.services.retail_documents import money, promotions_of, sale_document

log = logging.getLogger(__name__)

PROVIDER = "retail"  # the payment provider of direct top-ups sold in shops (ledger: provider_clearing:retail)
PIN_VALIDITY_DAYS = 365
TERMINAL_REF = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


@dataclass(frozen=True, slots=True)
class SaleRequest:
    """What the terminal asks: `terminal_ref` is its own unique reference (the idempotency key)."""

    terminal_ref: str
    plan_id: str
    kind: str  # direct | pin
    msisdn: str = ""  # a direct top-up's number, as typed
    tender: str = "cash"  # cash | card
    language: str = "en"
    cash_given_minor: int | None = None
    network_confirmed: bool = False  # the clerk confirmed a ported number's network
    promo_code: str = ""  # a direct top-up's promo code, as the customer shows it (services/promotions)

    def digest(self) -> str:
        fields = asdict(self)
        if not self.promo_code:
            del fields["promo_code"]  # a sale without a code hashes as it did before codes existed
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SaleResult:
    status: int  # 201 a new sale, 200 the first answer replayed
    document: dict[str, object]


@dataclass(frozen=True, slots=True)
class _Priced:
    price: Money
    commission: Money
    network_id: str
    priced: orders.Priced | None  # a direct top-up's quote


def find_active_terminal(terminal_id: str) -> Terminal | None:
    """The terminal, if it and its retailer are active (with its retailer loaded)."""
    found = Terminal.objects.select_related("retailer").filter(
        id=terminal_id, active=True, retailer__active=True
    )
    return found.first()


def active_terminal(terminal_id: str) -> Terminal:
    terminal = find_active_terminal(terminal_id)
    if terminal is None:
        raise NotFound("no such active terminal", code="terminal_not_found", field="X-Terminal-Id")
    return terminal


def sell(terminal_id: str, request: SaleRequest) -> SaleResult:
    """Sell for the terminal: 201 and the sale's document, or 200 and the first answer to this request."""
    terminal = active_terminal(terminal_id)
    _check_ref(request.terminal_ref)
    replayed = _replay(terminal, request)
    if replayed is not None:
        return replayed
    kind = rules.sale_kind(request.kind)
    tender = rules.tender_kind(request.tender)
    priced = _price(terminal.retailer, request, kind)
    given = (
        None if request.cash_given_minor is None else Money(request.cash_given_minor, priced.price.currency)
    )
    change = rules.change_due(priced.price, tender, given)
    try:
        with transaction.atomic():
            sale = _record(terminal, request, priced, given=given, change=change, at=now())
    except IntegrityError:
        replayed = _replay(terminal, request)  # the same reference, sold concurrently: its first answer
        if replayed is None:
            raise
        return replayed
    log.info("shop sale", extra={"sale": sale.id, "order_id": sale.order_id, "outcome": kind.value})
    return SaleResult(201, sale_document(sale))


def _check_ref(terminal_ref: str) -> None:
    """A reference that fits in a URL path as it is: letters, digits and . _ : - (1 to 64)."""
    if not TERMINAL_REF.fullmatch(terminal_ref):
        raise InvalidInput(
            "terminal_ref is 1 to 64 characters", code="invalid_terminal_ref", field="terminal_ref"
        )


def _replay(terminal: Terminal, request: SaleRequest) -> SaleResult | None:
    sale = Sale.objects.filter(terminal=terminal, terminal_ref=request.terminal_ref).first()
    if sale is None:
        return None
    if sale.request_hash != request.digest():
        raise rules.ref_conflict()
    first = dict(sale.response or sale_document(sale))
    if first.get("pin"):
        first["pin"] = {"serial": sale.voucher_id, "pin": sale.pin or None}
    return SaleResult(200, first)


def _price(retailer: Retailer, request: SaleRequest, kind: rules.SaleKind) -> _Priced:
    if kind is rules.SaleKind.DIRECT:
        quoted = orders.price(
            orders.QuoteRequest(
                request.plan_id, msisdn=request.msisdn, network_confirmed=request.network_confirmed,
                promo_code=request.promo_code, channel="pos",
            )
        )  # fmt: skip
        price, network_id, priced = quoted.quote.total, quoted.quote.network_id, quoted
    else:
        if request.promo_code:  # a PIN is a voucher sold at its face value, redeemed later by anyone
            raise InvalidInput(
                "a promo code applies to a direct top-up, not to a voucher PIN",
                code="promo_code_not_applicable", field="promo_code",
            )  # fmt: skip
        plan, network = catalogue.plan_and_network(request.plan_id)
        if not plan.active:
            raise InvalidInput(f"{plan.id} is not on sale", code="plan_not_available", field="plan_id")
        if network.id not in PIN_NETWORKS:
            raise InvalidInput(
                f"no voucher PINs for {network.id}", code="no_pin_for_network", field="plan_id"
            )
        price, network_id, priced = plan.price, network.id, None
    rate = rules.commission_bp(commission_rules(retailer.id), network_id, request.plan_id)
    return _Priced(price, rules.commission_of(price, rate), network_id, priced)


def commission_rules(retailer_id: str) -> list[rules.CommissionRule]:
    rows = Commission.objects.filter(retailer_id=retailer_id)
    return [rules.CommissionRule(r.rate_bp, network_id=r.network_id, plan_id=r.plan_id) for r in rows]


def lock_open_shift(terminal_id: str) -> Shift:
    """The terminal's open shift, its row locked until the commit (a Z cannot close it under a sale)."""
    shift = Shift.objects.filter(terminal_id=terminal_id, closed_at__isnull=True).first()
    if shift is None or not Shift.objects.filter(id=shift.id, closed_at__isnull=True).update(
        movements_count=F("movements_count") + 1
    ):
        raise not_open()
    return shift


def take_from_float(retailer_id: str, cost: Money) -> None:
    """One conditional UPDATE: float - cost >= -credit limit, or nothing changes."""
    taken = Retailer.objects.filter(
        id=retailer_id, active=True, float_minor__gte=F("credit_limit_minor") * -1 + cost.amount_minor
    ).update(float_minor=F("float_minor") - cost.amount_minor)
    if taken != 1:
        raise rules.float_insufficient()


def _record(
    terminal: Terminal, request: SaleRequest, priced: _Priced, *, given: Money | None, change: Money | None,
    at: datetime,
) -> Sale:  # fmt: skip
    shift = lock_open_shift(terminal.id)
    sale = Sale(
        id=new_id("sale"), terminal=terminal, retailer_id=terminal.retailer_id,
        terminal_ref=request.terminal_ref, request_hash=request.digest(), kind=request.kind,
        plan_id=request.plan_id, price_minor=priced.price.amount_minor,
        commission_minor=priced.commission.amount_minor, currency=priced.price.currency,
        tender=request.tender,
        cash_given_minor=None if given is None else given.amount_minor,
        change_minor=None if change is None else change.amount_minor, language=request.language[:10],
        shift=shift, status=rules.SaleStatus.SOLD.value, sold_at=at,
    )  # fmt: skip
    with transaction.atomic():
        sale.save(force_insert=True)  # UNIQUE(terminal, terminal_ref): a concurrent twin stops here
    take_from_float(terminal.retailer_id, rules.float_cost(priced.price, priced.commission))
    clearing = _fulfil(sale, terminal, priced, at)
    ledger.post(
        postings.retail_sale(sale.id, terminal.retailer_id, clearing, priced.price, priced.commission), now=at
    )
    ShiftMovement.objects.create(
        terminal=terminal, shift=shift, sale=sale, kind=MovementKind.SALE.value, tender=sale.tender,
        amount_minor=sale.price_minor, cash_given_minor=sale.cash_given_minor or 0,
        change_minor=sale.change_minor or 0, at=at,
    )  # fmt: skip
    response = sale_document(sale)
    if response["pin"]:
        response["pin"] = {"serial": sale.voucher_id, "pin": None}  # the PIN itself is never stored here
    Sale.objects.filter(id=sale.id).update(response=response)
    return sale


def _fulfil(sale: Sale, terminal: Terminal, priced: _Priced, at: datetime) -> str:
    """The order (direct) or the voucher (PIN) of the sale; returns the clearing its money goes to."""
    if priced.priced is not None:
        paid_by = PaidBy(PROVIDER, sale.tender, sale.id, "retail_sale", sale.id)
        order, _payment = create_paid_order(
            priced.priced, paid_by, channel=terminal.kind, language=sale.language, at=at
        )
        sale.order = order
        Sale.objects.filter(id=sale.id).update(order=order)
        return PROVIDER
    _batch, [(serial, pin)] = vouchers.generate_batch(
        priced.network_id, sale.plan_id, 1, expires_in_days=PIN_VALIDITY_DAYS, note=f"shop sale {sale.id}"
    )
    sale.voucher = Voucher.objects.get(id=serial)
    sale.pin = pin
    Sale.objects.filter(id=sale.id).update(
        voucher_id=serial, pin=pin, pin_kept_until=at + rules.PIN_VOID_WINDOW
    )
    return vouchers.PROVIDER


def quote(terminal_id: str, request: SaleRequest) -> dict[str, object]:
    """What the sale would cost the customer and the float, before it is made (nothing is written)."""
    terminal = active_terminal(terminal_id)
    priced = _price(terminal.retailer, request, rules.sale_kind(request.kind))
    cost = rules.float_cost(priced.price, priced.commission)
    retailer = terminal.retailer
    return {
        "plan_id": request.plan_id, "kind": request.kind, "network": priced.network_id,
        "price": money(priced.price.amount_minor, priced.price.currency),
        "commission": money(priced.commission.amount_minor, priced.commission.currency),
        "float_cost": money(cost.amount_minor, cost.currency),
        "float_enough": retailer.float_minor - cost.amount_minor >= -retailer.credit_limit_minor,
        "promotions": promotions_of(priced.priced.quote.to_dict() if priced.priced else None),
    }  # fmt: skip


def catalogue_for(terminal_id: str) -> list[dict[str, object]]:
    """The plans on sale, with the commission the terminal's retailer earns on each, and each plan's title
    and network brand in the request's language (Accept-Language)."""
    language = translation.get_language() or "en"
    terminal = active_terminal(terminal_id)
    commission = commission_rules(terminal.retailer_id)
    plans: list[dict[str, object]] = []
    for plan in catalogue.plans():
        if not plan.active:
            continue
        rate = rules.commission_bp(commission, plan.network_id, plan.id)
        plans.append({
            "id": plan.id, "network": plan.network_id, "kind": plan.kind.value, "name": plan.name,
            "title": plan_text.title_of(plan, language),
            "network_name": plan_text.network_brand(plan.network_id),
            "price": money(plan.price.amount_minor, plan.price.currency), "commission_bp": rate,
            "commission": money(rules.commission_of(plan.price, rate).amount_minor, plan.price.currency),
            "pin": plan.network_id in PIN_NETWORKS,
        })  # fmt: skip
    return plans
