"""The kiosk's cash rules: denominations, escrow decisions, change as a credit top-up, cash-payable prices."""

from __future__ import annotations

import pytest

from topup.domain.errors import Conflict, InvalidInput
from topup.domain.kiosk import (
    CashStatus,
    admit,
    cash_payable,
    change_plan_amount,
    check_denomination,
    require_cash_payable,
)

CREDIT = (500, 1_000, 1_500, 2_000, 2_500, 5_000)  # the demo's credit plans


def test_the_validator_takes_euro_notes_and_large_coins_only() -> None:
    for amount in (50, 100, 200, 500, 1_000, 2_000, 5_000):
        check_denomination(amount)
    for amount in (1, 2, 5, 10, 20, 10_000, 20_000, 0, -500):
        with pytest.raises(InvalidInput) as refused:
            check_denomination(amount)
        assert refused.value.code == "cash_denomination_refused"


def test_cash_pays_prices_that_coins_can_reach() -> None:
    assert all(cash_payable(price) for price in (1_000, 250, 50))
    assert not any(cash_payable(price) for price in (299, 999, 0))
    with pytest.raises(Conflict) as refused:
        require_cash_payable(1_999)
    assert refused.value.code == "cash_not_payable"


def test_change_is_a_credit_plan_of_exactly_the_difference() -> None:
    assert change_plan_amount(0, CREDIT) == 0
    assert change_plan_amount(1_000, CREDIT) == 1_000
    assert change_plan_amount(4_000, CREDIT) is None  # no € 40 credit plan
    assert change_plan_amount(50, CREDIT) is None


def test_short_of_the_price_every_accepted_note_is_stacked() -> None:
    assert admit(CashStatus.OPEN, 2_000, 0, 1_000, CREDIT).accepted
    assert admit(CashStatus.OPEN, 2_000, 1_000, 1_000, CREDIT).accepted  # exactly the price


def test_overpaying_is_taken_only_when_the_difference_can_be_given_as_credit() -> None:
    assert admit(CashStatus.OPEN, 1_000, 0, 2_000, CREDIT).accepted  # € 10 back as € 10 credit
    refused = admit(CashStatus.OPEN, 1_000, 0, 5_000, CREDIT)  # € 40 back: no such plan
    assert not refused.accepted
    assert refused.code == "cash_no_change"
    assert not admit(CashStatus.OPEN, 1_000, 900, 200, CREDIT).accepted  # € 1 back: no such plan
    assert admit(CashStatus.OPEN, 1_000, 500, 1_000, CREDIT).accepted  # € 5 back


def test_unknown_coins_and_closed_sessions_are_handed_back() -> None:
    assert admit(CashStatus.OPEN, 1_000, 0, 10_000, CREDIT).code == "cash_denomination_refused"
    assert admit(CashStatus.PAID, 1_000, 1_000, 500, CREDIT).code == "cash_session_closed"
    assert admit(CashStatus.CANCELLED, 1_000, 0, 500, CREDIT).code == "cash_session_closed"
    assert admit(CashStatus.OPEN, 1_000, 1_000, 500, CREDIT).code == "cash_session_closed"


def test_the_cash_simulator_signs_as_the_seeded_demo_kiosk() -> None:
    import os  # noqa: PLC0415

    import django  # noqa: PLC0415

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
    django.setup()
    from topup.services import retail_seed  # noqa: PLC0415
    from topup.simulators.cash import cli  # noqa: PLC0415

    assert (cli.DEMO_KIOSK_TERMINAL_ID, cli.DEMO_KIOSK_SECRET) == (
        retail_seed.DEMO_KIOSK_TERMINAL_ID,
        retail_seed.DEMO_KIOSK_SECRET,
    )
