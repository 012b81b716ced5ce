"""The JSON document of an order, as every channel and the idempotency store show it."""

from __future__ import annotations

from collections.abc import Sequence

from topup.db.models import Order, OrderEvent, Payment


def _money(amount_minor: int, currency: str) -> dict[str, object]:
    return {"amount_minor": amount_minor, "currency": currency}


def order_document(
    order: Order, payments: Sequence[Payment], history: Sequence[OrderEvent]
) -> dict[str, object]:
    payment = payments[-1] if payments else None
    return {
        "id": order.id,
        "status": order.status,
        "plan_id": order.plan_id,
        "network": order.network_id,
        "msisdn": order.msisdn,
        "channel": order.channel,
        "total": _money(order.total_minor, order.currency),
        "quote": order.quote,
        "failure_code": order.failure_code or None,
        "payment": None
        if payment is None
        else {
            "id": payment.id,
            "provider": payment.provider,
            "method": payment.method,
            "status": payment.status,
            "checkout_url": payment.checkout_url or None,
            "refunded": _money(payment.refunded_minor, payment.currency),
        },
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
