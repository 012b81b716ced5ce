"""Persistence of the domain: catalogue, orders and payments, ledger, jobs and API keys."""

from topup.db.models.agents import (
    AgentNote,
    AgentProfile,
    AgentRequest,
    AgentSale,
    AuditEntry,
    IdentityCheck,
)
from topup.db.models.autotopup import AutoTopup, AutoTopupRun
from topup.db.models.catalogue import CarrierFloatRecord, CarrierProductRecord, NetworkRecord, PlanRecord
from topup.db.models.fx import FxRateRecord
from topup.db.models.jobs import IdempotencyRecord, InboxEvent, Job, JobKey, SweepLease
from topup.db.models.kiosk import KioskCashEvent, KioskCashSession, KioskEnrolment
from topup.db.models.ledger import Account, Transfer
from topup.db.models.limits import RateCounter
from topup.db.models.lines import BundleRecord, Line, LineEvent, UsageRow
from topup.db.models.messaging import AccessToken, Notification, OtpChallenge
from topup.db.models.orders import ApiKey, Order, OrderEvent, Payment
from topup.db.models.partners import PartnerEvent, PartnerHook
from topup.db.models.preferences import LinePreference
from topup.db.models.privacy import Erasure
from topup.db.models.promotions import Campaign, Entitlement, PromoCode, Redemption
from topup.db.models.reminders import BundleReminder
from topup.db.models.retail import (
    Commission,
    FloatTopUp,
    Retailer,
    Sale,
    Shift,
    ShiftMovement,
    Terminal,
    TerminalNonce,
)
from topup.db.models.vouchers import RedeemAttempts, Voucher, VoucherBatch

__all__ = [
    "AccessToken",
    "Account",
    "AgentNote",
    "AgentProfile",
    "AgentRequest",
    "AgentSale",
    "ApiKey",
    "AuditEntry",
    "AutoTopup",
    "AutoTopupRun",
    "BundleRecord",
    "BundleReminder",
    "Campaign",
    "CarrierFloatRecord",
    "CarrierProductRecord",
    "Commission",
    "Entitlement",
    "Erasure",
    "FloatTopUp",
    "FxRateRecord",
    "IdempotencyRecord",
    "IdentityCheck",
    "InboxEvent",
    "Job",
    "JobKey",
    "KioskCashEvent",
    "KioskCashSession",
    "KioskEnrolment",
    "Line",
    "LineEvent",
    "LinePreference",
    "NetworkRecord",
    "Notification",
    "Order",
    "OrderEvent",
    "OtpChallenge",
    "PartnerEvent",
    "PartnerHook",
    "Payment",
    "PlanRecord",
    "PromoCode",
    "RateCounter",
    "RedeemAttempts",
    "Redemption",
    "Retailer",
    "Sale",
    "Shift",
    "ShiftMovement",
    "SweepLease",
    "Terminal",
    "TerminalNonce",
    "Transfer",
    "UsageRow",
    "Voucher",
    "VoucherBatch",
]
