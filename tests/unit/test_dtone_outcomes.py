"""What a DT One DVS transaction means for our reference (adapter), and how the simulated sandbox ends one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from topup.adapters.carriers.dtone import major_units, outcome_of
from topup.domain.money import Money
from topup.ports import CarrierOutcome
from topup.simulators.dtone import outcomes
from topup.simulators.dtone.catalogue import PRODUCTS
from topup.simulators.dtone.state import STATUSES, Transaction


def _tx(status: str) -> dict[str, object]:
    status_id, class_id, class_name = STATUSES[status]
    return {"id": 42, "status": {"id": status_id, "message": status,
                                 "class": {"id": class_id, "message": class_name}}}  # fmt: skip


@pytest.mark.parametrize(
    ("status", "outcome", "code"),
    [
        ("CREATED", CarrierOutcome.NOT_FOUND, "created"),  # never sent: topup() resumes it
        ("CONFIRMED", CarrierOutcome.UNKNOWN, "pending"),
        ("SUBMITTED", CarrierOutcome.UNKNOWN, "pending"),
        ("COMPLETED", CarrierOutcome.CONFIRMED, None),
        ("DECLINED-BARRED-CREDIT-PARTY", CarrierOutcome.CANCELLED, "DECLINED-BARRED-CREDIT-PARTY"),
        ("CANCELLED", CarrierOutcome.CANCELLED, "CANCELLED"),
        ("REVERSED", CarrierOutcome.CANCELLED, "REVERSED"),
    ],
)
def test_each_status_class_has_one_meaning(status: str, outcome: CarrierOutcome, code: str | None) -> None:
    result = outcome_of(_tx(status))
    assert (result.outcome, result.code, result.carrier_ref) == (outcome, code, "42")


def test_amounts_go_out_in_major_units_exactly() -> None:
    assert major_units(Money(999, "EUR")) == 9.99
    assert repr(major_units(Money(1234, "EUR"))) == "12.34"


@pytest.mark.parametrize(
    ("msisdn", "final", "delay_s"),
    [
        ("+32496123456", "COMPLETED", 0.0),
        ("+32496000100", "COMPLETED", 3.0),
        ("+32496000202", "DECLINED-INVALID-CREDIT-PARTY", 20.0),
        ("+32496000306", "DECLINED", 300.0),
        ("+32470123456", "DECLINED-INVALID-CREDIT-PARTY", 0.0),  # a Proximus line, an Orange product
    ],
)
def test_the_sandbox_suffixes_choose_the_outcome(msisdn: str, final: str, delay_s: float) -> None:
    at = datetime.now(UTC)
    tx = Transaction(1, "ord_1", PRODUCTS[210202], msisdn, 1000, 960, None, at, at)
    assert outcomes.outcome_of(tx) == (final, delay_s)
