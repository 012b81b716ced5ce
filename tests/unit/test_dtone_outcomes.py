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


# DT One's published classes (developers.dtone.com "Handling Transactions"; dvs-api-doc.dtone.com
# "Transaction Status"), written out here rather than read from the simulator's table.
PUBLISHED_CLASSES = {
    "CREATED": 1, "CONFIRMED": 2, "REJECTED": 3, "CANCELLED": 4, "SUBMITTED": 5, "COMPLETED": 7,
    "REVERSED": 8, "DECLINED": 9,
}  # fmt: skip


def test_the_simulators_statuses_carry_dt_ones_published_classes() -> None:
    for status, (_, class_id, class_name) in STATUSES.items():
        assert PUBLISHED_CLASSES[class_name] == class_id, status
        assert status == class_name or status.startswith(f"{class_name}-"), status
    assert set(PUBLISHED_CLASSES) <= set(STATUSES)
    assert set(outcomes.SANDBOX_OUTCOMES.values()) <= set(STATUSES)


@pytest.mark.parametrize(
    ("message", "klass", "outcome"),
    [
        ("REJECTED-INSUFFICIENT-BALANCE", "REJECTED", CarrierOutcome.CANCELLED),
        ("DECLINED-LIMITATIONS-ON-OPERATOR-AMOUNT", "DECLINED", CarrierOutcome.CANCELLED),
        ("SUBMITTED", "SUBMITTED", CarrierOutcome.UNKNOWN),
    ],
)
def test_the_adapter_decides_on_the_class_of_statuses_it_has_never_seen(
    message: str, klass: str, outcome: CarrierOutcome
) -> None:
    """Statuses DT One publishes that the simulator never sends: the class decides, the id is not read."""
    tx = {"id": 7, "status": {"id": 123456, "message": message,
                              "class": {"id": PUBLISHED_CLASSES[klass], "message": klass}}}  # fmt: skip
    assert outcome_of(tx).outcome is outcome
