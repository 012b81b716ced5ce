"""Pieces of API documents shared by the routers: the error responses, money and plans."""

from __future__ import annotations

from typing import Any

from django.utils import translation

from topup.channels.api.schemas import ErrorOut
from topup.domain.catalogue import Plan
from topup.domain.money import Money
from topup.services import plan_text

ERRORS: dict[int, Any] = dict.fromkeys((400, 401, 403, 404, 409, 422, 503), ErrorOut)


def money_document(m: Money) -> dict[str, object]:
    return {"amount_minor": m.amount_minor, "currency": m.currency}


def plan_document(p: Plan) -> dict[str, object]:
    return {
        "id": p.id,
        "network": p.network_id,
        "kind": p.kind.value,
        "name": p.name,
        "title": plan_text.title_of(p, translation.get_language() or "en"),  # Accept-Language
        "code": p.code,
        "price": money_document(p.price),
        "data_mb": p.data_mb,
        "unlimited": p.unlimited,
        "validity_days": p.validity_days,
        "fair_use_mb": p.fair_use_mb,
    }
