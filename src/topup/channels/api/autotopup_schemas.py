"""The API's shapes for auto top-up (TMF654 `isAutoTopup`, `recurringPeriod`, `numberOfPeriods`)."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field


class AutoTopupIn(Schema):
    """Top up again by itself, paid with the card this order's payment saves (card payments only)."""

    trigger: Literal["periodic", "threshold"] = Field(
        description="periodic: every `recurring_period`; threshold: when the line's credit is below "
        "`threshold_minor` (credit plans), or its bundle of this plan is below 10 % or ends within a day"
    )
    recurring_period: Literal["weekly", "fortnightly", "monthly"] | None = None
    number_of_periods: int | None = Field(default=None, ge=1, le=520, description="then it ends")
    threshold_minor: int = Field(default=0, ge=0, le=100_000, description="EUR cents, credit plans only")
    cap_per_month_minor: int = Field(ge=1, le=1_000_000, description="at most this much a calendar month")


class AutoTopupRefOut(Schema):
    id: str
    status: str


class AutoTopupMoneyOut(Schema):
    amount_minor: int
    currency: str


class AutoTopupOut(Schema):
    id: str
    is_auto_topup: bool = Field(description="TMF654 isAutoTopup: it may still top up (pending or active)")
    status: str = Field(description="pending (first payment not settled), active, paused or cancelled")
    order_id: str = Field(description="the order that set it up")
    plan_id: str
    trigger: str
    recurring_period: str | None
    threshold: AutoTopupMoneyOut | None
    cap_per_month: AutoTopupMoneyOut
    card: str | None = Field(description="the saved card, e.g. `visa 4242`")
    next_run_at: str | None
    failures: int
