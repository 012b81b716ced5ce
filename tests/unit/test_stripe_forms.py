"""Stripe's bracket notation, as the simulator decodes the SDK's bodies and query strings."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from topup.simulators.payments.forms import FormError, decode


def test_nested_hashes_and_both_list_notations() -> None:
    body = urlencode([
        ("amount", "1250"),
        ("payment_method_types[0]", "alipay"),
        ("payment_method_types[1]", "wechat_pay"),
        ("payment_method_options[wechat_pay][client]", "web"),
        ("metadata[payment_id]", "pay_1"),
        ("expand[]", "latest_charge"),
        ("expand[]", "customer"),
        ("created[gte]", "1700000000"),
    ])  # fmt: skip
    assert decode(body) == {
        "amount": "1250",
        "payment_method_types": ["alipay", "wechat_pay"],
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "metadata": {"payment_id": "pay_1"},
        "expand": ["latest_charge", "customer"],
        "created": {"gte": "1700000000"},
    }


def test_indexes_keep_their_order_and_empty_values_stay() -> None:
    assert decode("a[2]=z&a[0]=x&a[1]=y&description=") == {"a": ["x", "y", "z"], "description": ""}


@pytest.mark.parametrize("text", ["a[b=1", "[x]=1", "a[b]=1&a=2", "a=2&a[b]=1", "a[1][2][3][4][5][6]=1"])
def test_keys_the_notation_cannot_express_are_refused(text: str) -> None:
    with pytest.raises(FormError):
        decode(text)
