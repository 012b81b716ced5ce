"""The JSON document of an order, as every channel and the idempotency store show it.

The frozen quote's split of the net into our commission and the carrier's share is the shop's and the
carrier's economics: it is left out of the document unless the caller is staff (`Caller.staff`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from topup import logcontext
from topup.db import hot_sql
from topup.db.models import Order, OrderEvent, Payment
from topup.domain.esim_catalogue import ESIM_APN
from topup.services.order_access import Caller, checked
from topup.settings import CONFIG

ECONOMICS = ("commission", "carrier_amount")  # quote fields only staff reads


def _money(amount_minor: int, currency: str) -> dict[str, object]:
    return {"amount_minor": amount_minor, "currency": currency}


def order_document(
    order: Order, payments: Sequence[Payment], history: Sequence[OrderEvent], *, economics: bool = False
) -> dict[str, object]:
    """The order's document; `economics` keeps the quote's commission and carrier share (staff only)."""
    attempts = sorted(payments, key=lambda p: p.attempt)
    current = [p for p in attempts if p.id == order.current_payment_id]
    payment = current[0] if current else (attempts[-1] if attempts else None)
    return {
        "id": order.id,
        "status": order.status,
        "plan_id": order.plan_id,
        "network": order.network_id,
        "msisdn": order.msisdn,
        "channel": order.channel,
        "total": _money(order.total_minor, order.currency),
        "quote": order.quote if economics else {k: v for k, v in order.quote.items() if k not in ECONOMICS},
        "failure_code": order.failure_code or None,
        "payment": None if payment is None else _payment(payment),
        "attempts": [_payment(p) for p in attempts],
        "iccid": order.line.iccid if order.line_id and order.line else (order.iccid or None),
        "esim": _esim(order),
        "created_at": order.created_at.isoformat(),
        "history": [
            {
                "status": e.to_status,
                "from_status": e.from_status or None,
                "at": e.at.isoformat(),
                "code": e.code or None,
            }
            for e in history
        ],
    }


def owned_document(order_id: str, caller: Caller) -> dict[str, object]:
    """The order's document for a caller who may see it (services/order_access), else `order_not_found`:
    the order, its line, payments and history and the access check in one statement written once."""
    order = checked(hot_sql.order_document(order_id), order_id, caller)
    logcontext.bind(
        order_id=order.id, line_id=order.line_id, payment_id=order.current_payment_id,
        order_request_id=order.request_id,
    )  # fmt: skip
    return read_document(order, economics=caller.staff)


def read_document(order: Order, *, economics: bool = False) -> dict[str, object]:
    """The document of an order read with `db.hot_sql.order_document` (its payments
    and history came with it as JSON, in the same statement)."""
    payments = [Payment(order_id=order.id, **row) for row in json.loads(vars(order)["payments_json"])]
    history = [
        OrderEvent(order_id=order.id, from_status=row["from_status"], to_status=row["to_status"],
                   code=row["code"], at=_instant(row["at"]))
        for row in json.loads(vars(order)["history_json"])
    ]  # fmt: skip
    return order_document(order, payments, history, economics=economics)


def _instant(text: str) -> datetime:
    """A timestamp as JSON carries it: ISO 8601 with its offset (PostgreSQL), or naive UTC (SQLite)."""
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _payment(payment: Payment) -> dict[str, object]:
    """One payment attempt, with what the buyer must do next while it waits (a redirect or a QR code)."""
    action = None
    if payment.next_action_kind:
        action = {
            "kind": payment.next_action_kind,
            "url": payment.next_action_url or None,
            "qr_data": payment.qr_data or None,
            "instructions_url": payment.instructions_url or None,
        }
    return {
        "id": payment.id,
        "attempt": payment.attempt,
        "provider": payment.provider,
        "method": payment.method,
        "status": payment.status,
        "failure_code": payment.failure_code or None,
        "checkout_url": payment.checkout_url or None,
        "next_action": action,
        "refunded": _money(payment.refunded_minor, payment.currency),
        "refund_status": payment.refund_status or None,
    }


def _esim(order: Order) -> dict[str, object] | None:
    """The eSIM to install, once the order has a line: activation code, QR links and profile state."""
    line = order.line if order.line_id else None
    if line is None:
        return None
    base = f"{CONFIG.public_url}/api/v1/esim/orders/{order.id}"
    return {
        "iccid": line.iccid,
        "activation_code": line.activation_code,
        "smdp_address": line.smdp_address,
        "matching_id": line.matching_id,
        "qr_svg_url": f"{base}/qr.svg",
        "qr_png_url": f"{base}/qr.png",
        "state": line.profile_state,
        "apn": ESIM_APN,
    }
