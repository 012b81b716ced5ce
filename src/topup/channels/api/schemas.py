"""Request and response shapes of the REST API (the OpenAPI document is generated from them)."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field


class MoneyOut(Schema):
    amount_minor: int
    currency: str


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Schema):
    error: ErrorDetail


class NetworkOut(Schema):
    id: str
    name: str
    kind: Literal["external", "hosted"]


class PlanOut(Schema):
    id: str
    network: str
    kind: Literal["credit", "bundle"]
    name: str
    code: str
    price: MoneyOut
    data_mb: int | None
    unlimited: bool
    validity_days: int | None
    fair_use_mb: int | None


class LookupOut(Schema):
    msisdn: str
    network: str | None
    source: Literal["history", "range", "none"]


class QuoteIn(Schema):
    plan_id: str = Field(min_length=1, max_length=60)
    msisdn: str = Field(min_length=1, max_length=40)
    network_confirmed: bool = False


class QuoteOut(Schema):
    plan_id: str
    network: str
    msisdn: str
    price: MoneyOut
    discount: MoneyOut
    total: MoneyOut
    net: MoneyOut
    vat: MoneyOut
    vat_rate_percent: float


class OrderIn(QuoteIn):
    payment_method: Literal["card", "bancontact", "alipay", "wechat_pay"]
    language: Literal["en", "nl", "fr", "de", "zh-hans"] | None = None


class PaymentOut(Schema):
    id: str
    provider: str
    method: str
    status: str
    checkout_url: str | None
    refunded: MoneyOut


class HistoryOut(Schema):
    status: str
    at: str
    from_status: str | None
    code: str | None


class FrozenQuoteOut(Schema):
    """The price frozen into the order when it was placed: what was paid and where each cent goes."""

    plan_id: str
    network_id: str
    msisdn: str
    price: MoneyOut
    discount: MoneyOut
    total: MoneyOut
    net: MoneyOut
    vat: MoneyOut
    vat_rate_bp: int
    commission: MoneyOut
    carrier_amount: MoneyOut
    face_value: MoneyOut


class OrderOut(Schema):
    id: str
    status: str
    plan_id: str
    network: str
    msisdn: str
    channel: str
    total: MoneyOut
    quote: FrozenQuoteOut
    failure_code: str | None
    payment: PaymentOut | None
    created_at: str
    history: list[HistoryOut]


class BalanceOut(Schema):
    msisdn: str
    network: str
    credit: MoneyOut
    valid_until: str | None
    source: str


class CurrencyTotalsOut(Schema):
    currency: str
    debits_minor: int
    credits_minor: int
    transfers_minor: int
    balanced: bool


class TrialBalanceOut(Schema):
    balanced: bool
    currencies: list[CurrencyTotalsOut]
    accounts: list[dict[str, object]]


class WebhookOut(Schema):
    received: bool
    outcome: str
