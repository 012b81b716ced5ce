"""Recharge vouchers: PIN formats per network (Luhn check digit last), serial numbers, the voucher's states,
why a PIN is refused, and the brute-force lockout policy. Randomness, keys and time are passed in.

Errors (field "pin" unless said):
InvalidInput  invalid_pin_format        not digits, wrong length or wrong check digit: refused before lookup
InvalidInput  invalid_voucher_batch     (field "count") a batch of 0 or more than 999,999 vouchers
NotFound      voucher_unknown           no such voucher (or one not yet activated: its existence is not told)
NotFound      voucher_batch_not_found   (field "batch") voiding a batch that does not exist
Conflict      voucher_already_used, voucher_void, voucher_expired, voucher_locked_out
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from topup.domain.errors import Conflict, DomainError, IllegalTransition, InvalidInput, NotFound
from topup.domain.identifiers import ascii_digits

# Digits of a PIN, check digit included. BASE (15) and Proximus (13) follow their printed cards.
PIN_LENGTHS: Final[Mapping[str, int]] = MappingProxyType(
    {"base": 15, "proximus": 13, "orange": 14, "telenet": 14, "topup-esim": 16}
)
PIN_LENGTHS_ACCEPTED: Final = frozenset(PIN_LENGTHS.values())
SERIAL_PREFIXES: Final[Mapping[str, str]] = MappingProxyType(
    {"base": "BAS", "proximus": "PRX", "orange": "ORA", "telenet": "TEL", "topup-esim": "ESM"}
)
SERIAL_SEQ_MAX: Final = 999_999
BATCH_SUFFIX_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_SERIAL = re.compile(r"([A-Z]{3})-([0-9]{6}[0-9A-HJKMNP-TV-Z]{4})-([0-9]{6})")
_SEPARATORS = re.compile(r"[\s\-._/]+")

# Lockout: free attempts, then a doubling wait, and a hard lock for an hour from the 10th failure on.
FREE_FAILURES: Final = 3
FIRST_DELAY_S: Final = 2.0
MAX_DELAY_S: Final = 300.0
HARD_LOCK_FAILURES: Final = 10
HARD_LOCK_S: Final = 3600.0
REINSTATE_GRACE_DAYS: Final = 30


def _pin_error(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_pin_format", field="pin")


# ---------------------------------------------------------------- PINs


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` pass the Luhn check (mod 10, doubling from the right)."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = ord(char) - 48
        if position % 2 == 0:  # the check digit will sit right of it: this one is doubled
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_is_valid(digits: str) -> bool:
    return (
        len(digits) >= 2
        and digits.isascii()
        and digits.isdigit()
        and (luhn_check_digit(digits[:-1]) == digits[-1])
    )


def pin_length(network_id: str) -> int:
    try:
        return PIN_LENGTHS[network_id]
    except KeyError:
        raise InvalidInput(
            f"no voucher format for network {network_id!r}", code="unknown_network", field="network"
        ) from None


def normalise_pin(text: str) -> str:
    """The PIN as typed, without spaces, dashes, dots or slashes (cards print it in groups), its digits ASCII
    (full-width or other scripts' digits typed on a phone's keyboard)."""
    return _SEPARATORS.sub("", ascii_digits(text).strip())


def pin_is_well_formed(network_id: str, pin: str) -> bool:
    """True when `pin` (normalised or not) has the network's length, only digits and a valid check digit."""
    digits = normalise_pin(pin)
    return len(digits) == pin_length(network_id) and luhn_is_valid(digits)


def checked_pin(text: str) -> str:
    """The normalised PIN when it could be a PIN of any network; InvalidInput `invalid_pin_format` if not."""
    digits = normalise_pin(text)
    if not (digits.isascii() and digits.isdigit()):
        raise _pin_error("a voucher PIN has only digits")
    if len(digits) not in PIN_LENGTHS_ACCEPTED:
        raise _pin_error(f"a voucher PIN has {', '.join(map(str, sorted(PIN_LENGTHS_ACCEPTED)))} digits")
    if not luhn_is_valid(digits):
        raise _pin_error("the PIN's check digit does not match: a digit was mistyped")
    return digits


def make_pin(network_id: str, random_digits: Callable[[int], str]) -> str:
    """A new PIN: `random_digits(n)` gives n uniformly random decimal digits, the check digit is appended."""
    payload_length = pin_length(network_id) - 1
    payload = random_digits(payload_length)
    if len(payload) != payload_length or not (payload.isascii() and payload.isdigit()):
        raise ValueError(f"random_digits({payload_length}) must give {payload_length} digits")
    return payload + luhn_check_digit(payload)


def pin_digest(key: bytes, pin: str) -> str:
    """What is stored instead of the PIN: HMAC-SHA256 (hex) of the normalised PIN, keyed by a secret."""
    return hmac.new(key, normalise_pin(pin).encode("ascii"), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- serials and batches


def batch_code(created_on: date, suffix: str) -> str:
    """A batch number as printed on the cards: `YYMMDD` and four random Crockford base32 characters."""
    if len(suffix) != 4 or any(char not in BATCH_SUFFIX_ALPHABET for char in suffix):
        raise ValueError(f"a batch suffix is 4 Crockford base32 characters, got {suffix!r}")
    return f"{created_on:%y%m%d}{suffix}"


def make_serial(network_id: str, batch: str, seq: int) -> str:
    """`<network prefix>-<batch>-<6 digit seq>`, e.g. `BAS-250611K7QZ-000042` (printed, not secret)."""
    prefix = SERIAL_PREFIXES.get(network_id)
    if prefix is None:
        raise InvalidInput(
            f"no voucher format for network {network_id!r}", code="unknown_network", field="network"
        )
    if not 1 <= seq <= SERIAL_SEQ_MAX:
        raise ValueError(f"serial sequence out of range: {seq}")
    serial = f"{prefix}-{batch}-{seq:06d}"
    if not _SERIAL.fullmatch(serial):
        raise ValueError(f"not a valid batch code: {batch!r}")
    return serial


def check_batch_size(count: int) -> None:
    if not 1 <= count <= SERIAL_SEQ_MAX:
        raise InvalidInput(
            f"a batch holds 1 to {SERIAL_SEQ_MAX:,} vouchers", code="invalid_voucher_batch", field="count"
        )


# ---------------------------------------------------------------- states


class VoucherState(StrEnum):
    ISSUED = "issued"  # printed, not yet sold: refused as unknown
    ACTIVE = "active"  # sold-ready: redeemable until it expires
    REDEEMED = "redeemed"
    VOID = "void"
    EXPIRED = "expired"


_V = VoucherState
VOUCHER_TRANSITIONS: Final[Mapping[VoucherState, frozenset[VoucherState]]] = MappingProxyType(
    {
        _V.ISSUED: frozenset({_V.ACTIVE, _V.VOID, _V.EXPIRED}),
        _V.ACTIVE: frozenset({_V.REDEEMED, _V.VOID, _V.EXPIRED}),
        # Its order failed delivery and was refunded: the customer gets the voucher back.
        _V.REDEEMED: frozenset({_V.ACTIVE}),
        _V.VOID: frozenset(),
        _V.EXPIRED: frozenset(),
    }
)


def can_become(current: VoucherState, new: VoucherState) -> bool:
    return new in VOUCHER_TRANSITIONS[current]


def check_voucher_transition(current: VoucherState, new: VoucherState) -> None:
    if not can_become(current, new):
        raise IllegalTransition(
            f"a voucher cannot go from {current} to {new}", code="illegal_transition", field="state"
        )


def states_that_can_become(new: VoucherState) -> list[str]:
    """The stored states a conditional UPDATE may move to `new` (its WHERE state IN (...))."""
    return sorted(state.value for state in VoucherState if can_become(state, new))


def refusal(state: VoucherState, expires_at: datetime, now: datetime) -> DomainError:
    """Why a voucher in `state` cannot be redeemed at `now` (the error a redemption answers)."""
    if state is _V.REDEEMED:
        return Conflict("this voucher was used already", code="voucher_already_used", field="pin")
    if state is _V.VOID:
        return Conflict("this voucher was cancelled", code="voucher_void", field="pin")
    if state is _V.EXPIRED or (state is _V.ACTIVE and expires_at <= now):
        return Conflict("this voucher has expired", code="voucher_expired", field="pin")
    return unknown_voucher()  # issued but not sold: say nothing about it


def unknown_voucher() -> NotFound:
    return NotFound("no voucher with this PIN", code="voucher_unknown", field="pin")


def locked_out() -> Conflict:
    return Conflict("too many wrong PINs: try again later", code="voucher_locked_out", field="pin")


def busy() -> Conflict:
    """Guessing is going on somewhere: every caller waits for one of the few attempts a minute left."""
    return Conflict("too many voucher attempts right now: try again in a minute", code="voucher_busy")


def guessing_seen(failures: int, attempts: int, *, max_failures: int, max_share: float) -> bool:
    """The breaker's rule over one window: `max_failures` unknown PINs, or `max_share` of all attempts
    failing once at least a third of `max_failures` did (a few typos on a quiet day are not an attack)."""
    if failures >= max_failures:
        return True
    return failures >= max(1, max_failures // 3) and failures >= max_share * max(attempts, 1)


def batch_not_found(batch_id: str) -> NotFound:
    return NotFound(f"no voucher batch {batch_id!r}", code="voucher_batch_not_found", field="batch")


def reinstated_expiry(expires_at: datetime, now: datetime) -> datetime:
    """A voucher given back after a refund stays usable for at least `REINSTATE_GRACE_DAYS` more days."""
    return max(expires_at, now + timedelta(days=REINSTATE_GRACE_DAYS))


# ---------------------------------------------------------------- lockout


def lockout_delay_s(failures: int) -> float:
    """The wait after `failures` consecutive failures: none for the first 3, then 2, 4, 8 ... s, capped."""
    if failures <= FREE_FAILURES:
        return 0.0
    return min(FIRST_DELAY_S * 2.0 ** (failures - FREE_FAILURES - 1), MAX_DELAY_S)


def unlock_at(failures: int, last_failure_at: datetime | None) -> datetime | None:
    """When a caller with `failures` may try again (None: at once); an hour from the 10th failure on."""
    if last_failure_at is None or failures <= FREE_FAILURES:
        return None
    wait_s = HARD_LOCK_S if failures >= HARD_LOCK_FAILURES else lockout_delay_s(failures)
    return last_failure_at + timedelta(seconds=wait_s)


def is_locked(failures: int, last_failure_at: datetime | None, now: datetime) -> bool:
    until = unlock_at(failures, last_failure_at)
    return until is not None and now < until
