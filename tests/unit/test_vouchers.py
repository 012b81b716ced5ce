"""Voucher rules: PIN formats per network, the Luhn check digit, serials, states and the lockout policy."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from topup.domain.vouchers import (
    HARD_LOCK_FAILURES,
    PIN_LENGTHS,
    VoucherState,
    batch_code,
    check_voucher_transition,
    checked_pin,
    is_locked,
    lockout_delay_s,
    luhn_check_digit,
    luhn_is_valid,
    make_pin,
    make_serial,
    normalise_pin,
    pin_digest,
    pin_is_well_formed,
    refusal,
    states_that_can_become,
    unlock_at,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def counting_digits(n: int) -> str:
    return "".join(str(i % 10) for i in range(1, n + 1))


@pytest.mark.parametrize(
    ("network", "length"),
    [("base", 15), ("proximus", 13), ("orange", 14), ("telenet", 14), ("topup-esim", 16)],
)
def test_pin_length_per_network(network: str, length: int) -> None:
    pin = make_pin(network, counting_digits)
    assert len(pin) == length
    assert pin.isdigit()
    assert pin_is_well_formed(network, pin)


def test_base_pin_is_fifteen_digits_with_the_check_digit_last() -> None:
    pin = make_pin("base", lambda n: "7992739871"[:n].ljust(n, "0"))
    assert len(pin) == 15
    assert pin[-1] == luhn_check_digit(pin[:-1])
    assert not pin_is_well_formed("proximus", pin)  # 15 digits are not a Proximus PIN


def test_known_luhn_numbers() -> None:
    assert luhn_check_digit("7992739871") == "3"  # the textbook example
    assert luhn_is_valid("79927398713")
    assert not luhn_is_valid("79927398710")
    assert luhn_is_valid("4539578763621486")  # a valid test card number


def test_make_pin_refuses_bad_randomness() -> None:
    with pytest.raises(ValueError, match="digits"):
        make_pin("base", lambda n: "12")
    with pytest.raises(ValueError, match="digits"):
        make_pin("base", lambda n: "a" * n)
    with pytest.raises(InvalidInput) as refused:
        make_pin("vodafone", counting_digits)
    assert refused.value.code == "unknown_network"


@given(
    network=st.sampled_from(sorted(PIN_LENGTHS)),
    payload=st.data(),
    position=st.integers(min_value=0, max_value=15),
    replacement=st.integers(min_value=1, max_value=9),
)
def test_luhn_catches_any_single_digit_typo(
    network: str, payload: st.DataObject, position: int, replacement: int
) -> None:
    length = PIN_LENGTHS[network]
    digits = payload.draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    pin = make_pin(network, lambda n: digits)
    index = position % length
    typo = pin[:index] + str((int(pin[index]) + replacement) % 10) + pin[index + 1 :]
    assert typo != pin
    assert pin_is_well_formed(network, pin)
    assert not pin_is_well_formed(network, typo)
    with pytest.raises(InvalidInput) as refused:
        checked_pin(typo)
    assert refused.value.code == "invalid_pin_format"
    assert refused.value.field == "pin"


def test_normalise_pin_strips_spaces_and_dashes() -> None:
    assert normalise_pin(" 1234 5678-9012 345 ") == "123456789012345"
    assert normalise_pin("1234.5678/9012") == "123456789012"


@pytest.mark.parametrize("text", ["", "abc", "12345", "1" * 20, "١٢٣٤٥٦٧٨٩٠١٢٣٤٥"])
def test_malformed_pins_are_refused_before_any_lookup(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_pin(text)
    assert refused.value.code == "invalid_pin_format"


def test_a_typed_pin_with_separators_is_accepted() -> None:
    pin = make_pin("base", counting_digits)
    typed = f"{pin[:5]} {pin[5:10]}-{pin[10:]}"
    assert checked_pin(typed) == pin
    assert pin_digest(b"k", typed) == pin_digest(b"k", pin)
    assert pin_digest(b"k", pin) != pin_digest(b"other key", pin)


def test_serial_format() -> None:
    batch = batch_code(date(2026, 6, 11), "K7QZ")
    assert batch == "260611K7QZ"
    assert make_serial("base", batch, 42) == "BAS-260611K7QZ-000042"
    assert make_serial("proximus", batch, 999_999) == "PRX-260611K7QZ-999999"
    with pytest.raises(ValueError, match="range"):
        make_serial("base", batch, 1_000_000)
    with pytest.raises(ValueError, match="Crockford"):
        batch_code(date(2026, 6, 11), "KIL0")


def test_voucher_state_machine() -> None:
    check_voucher_transition(VoucherState.ACTIVE, VoucherState.REDEEMED)
    check_voucher_transition(VoucherState.REDEEMED, VoucherState.ACTIVE)  # given back after a refund
    for final in (VoucherState.VOID, VoucherState.EXPIRED):
        for target in VoucherState:
            with pytest.raises(IllegalTransition):
                check_voucher_transition(final, target)
    with pytest.raises(IllegalTransition):
        check_voucher_transition(VoucherState.REDEEMED, VoucherState.VOID)
    assert states_that_can_become(VoucherState.VOID) == ["active", "issued"]
    assert states_that_can_become(VoucherState.REDEEMED) == ["active"]


@pytest.mark.parametrize(
    ("state", "expires_at", "error", "code"),
    [
        (VoucherState.REDEEMED, T0 + timedelta(days=1), Conflict, "voucher_already_used"),
        (VoucherState.VOID, T0 + timedelta(days=1), Conflict, "voucher_void"),
        (VoucherState.EXPIRED, T0 - timedelta(days=1), Conflict, "voucher_expired"),
        (VoucherState.ACTIVE, T0, Conflict, "voucher_expired"),  # past expiry, not yet swept
        (VoucherState.ISSUED, T0 + timedelta(days=1), NotFound, "voucher_unknown"),
    ],
)
def test_each_refusal_has_its_code(
    state: VoucherState, expires_at: datetime, error: type[Exception], code: str
) -> None:
    refused = refusal(state, expires_at, T0)
    assert isinstance(refused, error)
    assert refused.code == code
    assert refused.field == "pin"


def test_lockout_delays_start_after_three_failures_and_grow() -> None:
    delays = [lockout_delay_s(failures) for failures in range(12)]
    assert delays[:4] == [0.0, 0.0, 0.0, 0.0]
    assert delays[4:8] == [2.0, 4.0, 8.0, 16.0]
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert lockout_delay_s(1_000) == 300.0  # capped


def test_three_free_failures() -> None:
    for failures in range(4):
        assert not is_locked(failures, T0, T0)
        assert unlock_at(failures, T0) is None
    assert is_locked(4, T0, T0 + timedelta(seconds=1.9))
    assert not is_locked(4, T0, T0 + timedelta(seconds=2))
    assert not is_locked(0, None, T0)


def test_hard_lock_for_an_hour_from_the_tenth_failure() -> None:
    assert not is_locked(HARD_LOCK_FAILURES - 1, T0, T0 + timedelta(seconds=65))  # 9th: 64 s
    for failures in (HARD_LOCK_FAILURES, HARD_LOCK_FAILURES + 5):
        assert is_locked(failures, T0, T0 + timedelta(minutes=59, seconds=59))
        assert not is_locked(failures, T0, T0 + timedelta(hours=1))
