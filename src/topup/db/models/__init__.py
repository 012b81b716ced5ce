"""Persistence of the domain: catalogue, orders and payments, ledger, jobs and API keys."""

from topup.db.models.catalogue import NetworkRecord, PlanRecord
from topup.db.models.jobs import IdempotencyRecord, InboxEvent, Job
from topup.db.models.ledger import Account, Transfer
from topup.db.models.lines import BundleRecord, Line, LineEvent, UsageRow
from topup.db.models.orders import ApiKey, Order, OrderEvent, Payment

__all__ = [
    "Account",
    "ApiKey",
    "BundleRecord",
    "IdempotencyRecord",
    "InboxEvent",
    "Job",
    "Line",
    "LineEvent",
    "NetworkRecord",
    "Order",
    "OrderEvent",
    "Payment",
    "PlanRecord",
    "Transfer",
    "UsageRow",
]
