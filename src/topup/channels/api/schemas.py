"""Request and response shapes of the REST API (the OpenAPI document is generated from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from topup.channels.api.autotopup_schemas import AutoTopupIn, AutoTopupRefOut


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
    name: str  # the catalogue's name, as staff entered it
    title: str = Field(description="The plan's title in the request's language (Accept-Language)")
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


PROMO_CODE = Field(
    default="", max_length=40,
    description="a promo code (case and spaces do not matter); refused with promo_code_unknown, "
    "promo_code_used_up, promo_code_expired or promo_code_not_applicable",
)  # fmt: skip


class QuoteIn(Schema):
    plan_id: str = Field(min_length=1, max_length=60)
    msisdn: str = Field(default="", max_length=40, description="the Belgian number to top up")
    iccid: str = Field(default="", max_length=22, description="or the ICCID of an eSIM to top up")
    network_confirmed: bool = False
    promo_code: str = PROMO_CODE
    payment_method: Literal["card", "bancontact", "alipay", "wechat_pay"] | None = Field(
        default=None, description="alipay or wechat_pay: the answer also carries `fx`, the total in yuan"
    )


class FxOut(Schema):
    """The yuan side for Alipay and WeChat Pay payers; the total and the ledger stay in EUR."""

    amount: MoneyOut = Field(description="the EUR total in CNY fen: EUR x rate x (1 + markup), half up")
    rate: str = Field(description="the reference rate, CNY per EUR, exactly as published (a decimal text)")
    source: str = Field(description="ECB: the European Central Bank's euro reference rates")
    rate_date: str = Field(description="the day the rate was published (YYYY-MM-DD)")
    markup_bp: int = Field(description="our markup on the rate, in basis points (200 = 2 %)")
    valid_until: str = Field(description="until when this quote holds (ISO 8601, UTC)")
    charge_currency: Literal["EUR", "CNY"] = Field(description="what the payment is charged in")


class PromotionOut(Schema):
    """One promotion applied, in the order applied; the savings add up to the quote's `discount`."""

    campaign_id: str
    rule: str = Field(description="first_topup, bogo, bogo_next, percent, fixed, bonus_credit or bonus_data")
    name: str = Field(description="the campaign's name in the language the order was priced in")
    code: str = Field(description="the promo code that applied it ('' for an automatic promotion)")
    saving: MoneyOut
    bonus_credit: MoneyOut | None = None
    bonus_data_mb: int = 0
    free_plan_id: str = Field(default="", description="a plan given free (buy-one-get-one)")


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
    fx: FxOut | None = None
    promotions: list[PromotionOut] = Field(default_factory=list)


class OrderIn(QuoteIn):
    payment_method: Literal["card", "bancontact", "alipay", "wechat_pay"]
    language: Literal["en", "nl", "fr", "de", "zh-hans"] | None = None
    auto_topup: AutoTopupIn | None = Field(default=None, description="top up again by itself (card only)")


class RetryIn(Schema):
    payment_method: Literal["card", "bancontact", "alipay", "wechat_pay"]


class NextActionOut(Schema):
    """What the buyer must do to pay: go to `url` (kind redirect), or scan `qr_data` (kind display_qr)."""

    kind: str
    url: str | None
    qr_data: str | None
    instructions_url: str | None


class PaymentOut(Schema):
    id: str
    attempt: int = 1
    provider: str
    method: str
    status: str
    failure_code: str | None = None
    checkout_url: str | None
    next_action: NextActionOut | None = None
    refunded: MoneyOut
    refund_status: str | None = None


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
    commission: MoneyOut | None = Field(
        default=None, description="our commission on the net: only for an API key with the admin scope"
    )
    carrier_amount: MoneyOut | None = Field(
        default=None, description="the carrier's share of the net: only for an API key with the admin scope"
    )
    face_value: MoneyOut
    fx: FxOut | None = None
    promotions: list[PromotionOut] = Field(default_factory=list)


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
    attempts: list[PaymentOut] = Field(
        default_factory=list, description="Every payment attempt, oldest first"
    )
    iccid: str | None
    esim: EsimOut | None
    created_at: str
    history: list[HistoryOut]


class CreatedOrderOut(OrderOut):
    """The answer that creates an order (and its replays): the order with its own secret."""

    order_token: str = Field(
        description="The order's secret: send it as `X-Order-Token` to read the order, fetch its eSIM QR "
        "code or cancel it. Keep it: it is shown again only to a replay of the same request."
    )
    auto_topup: AutoTopupRefOut | None = Field(default=None, description="the auto top-up it set up")


class BundleOut(Schema):
    id: str | None  # None: a bundle held at an external network's carrier
    plan_id: str | None  # None: a carrier product that no plan of ours is
    remaining_mb: int
    unlimited: bool
    total_mb: int | None = None
    name: str | None = None
    product_ref: str | None = None  # the carrier's product id (external networks)
    starts_at: datetime | None
    expires_at: datetime | None
    status: str


class BalanceOut(Schema):
    msisdn: str | None
    network: str
    credit: MoneyOut
    valid_until: str | None
    source: str
    iccid: str | None = None
    profile_state: str | None = None
    bundles: list[BundleOut] = []


class EsimOut(Schema):
    iccid: str
    activation_code: str
    smdp_address: str
    matching_id: str
    qr_svg_url: str
    qr_png_url: str
    state: str
    apn: str


class EsimOrderIn(Schema):
    plan_id: str = Field(min_length=1, max_length=60)
    payment_method: Literal["card", "bancontact", "alipay", "wechat_pay"]
    eid: str = Field(default="", max_length=32, description="binds the profile to this device (32 digits)")
    promo_code: str = PROMO_CODE
    language: Literal["en", "nl", "fr", "de", "zh-hans"] | None = None
    email: str = Field(
        default="",
        max_length=254,
        description="where the receipt and the eSIM's QR code are e-mailed once it is delivered, in "
        "`language`; a Unicode domain is fine; refused as `invalid_email` when it is not an address",
    )


class UsageRecordIn(Schema):
    id: str = Field(min_length=1, max_length=120)
    iccid: str = Field(default="", max_length=22)
    imsi: str = Field(default="", max_length=15)
    bytes: int = Field(ge=0)
    start: datetime
    end: datetime


class UsageIn(Schema):
    records: list[UsageRecordIn] = Field(min_length=1, max_length=10_000)


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
