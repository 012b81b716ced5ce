"""DVS's wire shapes, shared by the simulator's routes: errors, dates, amounts and the transaction object."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from aiohttp import web

from topup.simulators.dtone import catalogue
from topup.simulators.dtone.state import STATUSES, Transaction

ERRORS: Final = {
    1000400: (400, "Bad Request"),
    1000401: (401, "Unauthorized"),
    1000404: (404, "Resource not found"),
    1003001: (404, "Product is not available in your account"),
    1003002: (400, "Requested product amount is out of range"),
    1003101: (404, "Benefits not defined for available products"),
    1005003: (400, "Credit party mobile number is invalid"),
    1006001: (400, "Insufficient balance"),
    1007001: (400, "Transaction external ID has already been used"),
    1007002: (400, "Transaction has already been confirmed"),
    1007004: (400, "Transaction can no longer be confirmed"),
    1007005: (400, "Transaction has already been cancelled"),
    1007007: (400, "Transaction can no longer be cancelled"),
    1008004: (404, "Transaction not found"),
    1009503: (503, "Service unavailable, please retry later"),
}


def error(code: int, detail: str = "") -> web.Response:
    status, message = ERRORS[code]
    text = f"{message}: {detail}" if detail else message
    return web.json_response({"errors": [{"code": code, "message": text}]}, status=status)


def iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z") if at else None


def major(cents: int) -> float:
    return round(cents / 100, 2)


def transaction_json(tx: Transaction) -> dict[str, Any]:
    status_id, class_id, class_name = STATUSES[tx.status]
    product = catalogue.product_json(tx.product)
    value = {"unit_type": "CURRENCY", "unit": "EUR", "amount": major(tx.value_cents)}
    return {
        "id": tx.id,
        "external_id": tx.external_id,
        "creation_date": iso(tx.created_at),
        "confirmation_expiration_date": iso(tx.confirm_by),
        "confirmation_date": iso(tx.confirmed_at),
        "status": {"id": status_id, "message": tx.status, "class": {"id": class_id, "message": class_name}},
        "operator_reference": tx.operator_reference,
        "pin": None,
        "product": {
            key: product[key]
            for key in ("id", "name", "description", "tags", "service", "operator", "regions", "type")
        }
        | {"pin": None},
        "prices": {
            "wholesale": {
                "unit_type": "CURRENCY",
                "unit": "EUR",
                "amount": major(tx.wholesale_cents),
                "fee": 0,
            },
            "retail": None,
        },
        "rates": product["rates"],
        "benefits": catalogue.product_json(tx.product)["benefits"]
        if tx.product.is_bundle
        else [
            {
                "type": "CREDITS",
                "unit_type": "CURRENCY",
                "unit": "EUR",
                "additional_information": None,
                "amount": {
                    "base": major(tx.value_cents),
                    "promotion_bonus": 0,
                    "total_excluding_tax": major(tx.value_cents),
                    "total_including_tax": major(tx.value_cents),
                },
            }
        ],
        "promotions": None,
        "requested_values": {"source": value, "destination": value},
        "adjusted_values": {"source": value, "destination": value},
        "sender": None,
        "beneficiary": None,
        "debit_party_identifier": None,
        "credit_party_identifier": {"mobile_number": tx.msisdn},
        "statement_identifier": None,
        "additional_identifier": None,
        "callback_url": tx.callback_url,
    }
