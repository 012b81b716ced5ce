"""Which method takes which currency, and when a new payment attempt may replace the current one."""

from __future__ import annotations

import pytest

from topup.domain.errors import Conflict, InvalidInput
from topup.domain.payment_attempts import check_method_currency, check_retry


def test_bancontact_charges_euros_only() -> None:
    check_method_currency("bancontact", "EUR")
    check_method_currency("alipay", "CNY")
    with pytest.raises(InvalidInput) as refused:
        check_method_currency("bancontact", "CNY")
    assert (refused.value.code, refused.value.field) == ("bancontact_eur_only", "payment_method")


def retry(**overrides: object) -> None:
    facts: dict[str, object] = {
        "order_status": "awaiting_payment", "past_expiry": False, "payment_status": "failed",
        "attempts": 1, "max_attempts": 5, **overrides,
    }  # fmt: skip
    check_retry(**facts)  # type: ignore[arg-type]


@pytest.mark.parametrize("payment_status", ["failed", "requires_action"])
def test_a_declined_or_abandoned_payment_may_be_replaced(payment_status: str) -> None:
    retry(payment_status=payment_status)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"order_status": "expired"}, "order_expired"),
        ({"past_expiry": True}, "order_expired"),
        ({"order_status": "paid", "payment_status": "succeeded"}, "order_not_awaiting_payment"),
        ({"order_status": "cancelled"}, "order_not_awaiting_payment"),
        ({"payment_status": "processing"}, "payment_processing"),
        ({"payment_status": "needs_review"}, "order_not_awaiting_payment"),
        ({"attempts": 5}, "too_many_payment_attempts"),
    ],
)
def test_no_new_attempt_when_the_order_cannot_take_one(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(Conflict) as refused:
        retry(**overrides)
    assert refused.value.code == code
