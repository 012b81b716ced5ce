"""Finding a customer and reading their timeline for an agent, through blind indexes only.

A customer is a line reference: a Belgian number (E.164) or the ICCID of one of our eSIMs. Orders,
messages and vouchers are found by the keyed index of that reference, never by opening every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from topup.clock import new_id, now
from topup.db.models import AgentNote, AgentRequest, AgentSale, Line, Notification, Order, Voucher
from topup.domain.agents import QueryKind, classify_query
from topup.domain.errors import DomainError, InvalidInput, NotFound
from topup.domain.money import Money
from topup.pii import blind_index, mask_msisdn
from topup.ports import PortUnavailable
from topup.services import selfcare
from topup.services.agent_audit import Actor, record


def customer_index(ref: str) -> str:
    """The key under which the console files notes, sales and requests of one customer."""
    return blind_index(ref, purpose="agent_customer")


def masked(ref: str) -> str:
    """A number as agents see it in lists (`+32 470 •• •• 56`); an ICCID keeps its last 4 digits."""
    return mask_msisdn(ref) if ref.startswith("+") else f"•••• {ref[-4:]}"


def find(actor: Actor, text: str) -> str:
    """The customer reference a search names (a number in any format, an ICCID, an order id)."""
    kind, value = classify_query(text)
    ref = _resolve(kind, value)
    record(actor, "search", masked(ref), kind.value)
    return ref


def _resolve(kind: QueryKind, value: str) -> str:
    if kind is QueryKind.MSISDN:
        return value
    if kind is QueryKind.ICCID:
        line = Line.objects.filter(iccid=value).first()
        if line is None:
            raise NotFound("no line with this ICCID", code="line_not_found", field="q")
        return line.msisdn or line.iccid
    order = Order.objects.select_related("line").filter(id=value).first()
    if order is None:
        raise NotFound("no such order", code="order_not_found", field="q")
    sale = AgentSale.objects.filter(order_id=order.id).first()
    ref = order.msisdn or (sale.msisdn if sale else "") or (order.line.iccid if order.line else "")
    if not ref:
        raise NotFound("this order names no line yet", code="order_without_line", field="q")
    return ref


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    kind: str  # order | payment | status | message | voucher | note | request
    text: str
    order_id: str = ""
    seq: int = 0  # a status change's place in its order's history


_RANK = {"order": 0, "payment": 1, "status": 2, "message": 3, "voucher": 3, "request": 4, "note": 5}


def orders_of(ref: str) -> list[Order]:
    """The customer's orders: for their number or line, and the agents' sales made for them."""
    lines = list(Line.objects.filter(Q(msisdn=ref) | Q(iccid=ref)).values_list("id", flat=True))
    sold = AgentSale.objects.filter(customer_index=customer_index(ref)).values_list("order_id", flat=True)
    found = Order.objects.filter(msisdn=ref) | Order.objects.filter(line_id__in=lines)
    found = found | Order.objects.filter(id__in=list(sold))
    return list(found.select_related("line").prefetch_related("payments", "events").order_by("-created_at"))


def timeline(actor: Actor, ref: str) -> list[Event]:
    """Everything that happened to the customer, newest first (the view is audited)."""
    record(actor, "view_customer", masked(ref))
    events: list[Event] = []
    for order in orders_of(ref):
        total = Money(order.total_minor, order.currency)
        events.append(
            Event(order.created_at, "order", f"{order.plan_id} {total} ({order.channel})", order.id)
        )
        events += [
            Event(
                p.created_at,
                "payment",
                f"{p.provider}/{p.method} {p.status} {p.refund_status}".strip(),
                order.id,
            )
            for p in order.payments.all()
        ]
        events += [
            Event(e.at, "status", f"{e.from_status} → {e.to_status} {e.code}".strip(), order.id, e.id)
            for e in order.events.all()
            if e.from_status
        ]
    events += [
        Event(n.created_at, "message", f"{n.kind} {n.channel} {n.status}", n.subject_id)
        for n in Notification.objects.filter(to=ref)
    ]
    events += [
        Event(v.redeemed_at, "voucher", f"{v.id} {v.plan_id}", v.order_id or "")
        for v in Voucher.objects.filter(redeemed_by=ref)
        if v.redeemed_at
    ]
    index = customer_index(ref)
    events += [
        Event(n.created_at, "note", f"{n.author.username}: {n.text}") for n in AgentNote.objects.filter(
            customer_index=index).select_related("author")
    ]  # fmt: skip
    events += [
        Event(
            r.created_at,
            "request",
            f"{r.kind} {Money(r.amount_minor, r.currency)} {r.status}",
            r.order_id or "",
        )
        for r in AgentRequest.objects.filter(customer_index=index)
    ]
    # Newest first; what happened in the same instant (a cash sale) in the order it happened.
    return sorted(events, key=lambda e: (e.at, _RANK.get(e.kind, 9), e.seq), reverse=True)


def balance(ref: str) -> selfcare.LineBalance | None:
    """Credit and bundles (from our books or the carrier); None when the carrier cannot say now."""
    try:
        return selfcare.balance(ref)
    except (DomainError, PortUnavailable):
        return None


def add_note(actor: Actor, ref: str, text: str) -> None:
    if not text.strip() or len(text) > 2000:
        raise InvalidInput("write a note of at most 2000 characters", code="invalid_note", field="text")
    AgentNote.objects.create(
        id=new_id("note"), customer_index=customer_index(ref), text=text.strip(),
        author_id=actor.signed_in_id, created_at=now(),
    )  # fmt: skip
    record(actor, "note", masked(ref))
