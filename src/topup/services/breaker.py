"""The voucher guessing breaker: a failure-rate fuse over every caller of every channel together.

Unknown PINs are counted in a sliding window (a ring of one-minute buckets). When guessing is seen
(`domain.vouchers.guessing_seen`), the breaker is open: all redemptions, from everyone, share
`TOPUP_VOUCHER_BREAKER_RATE` attempts a minute, so a guesser rotating numbers or sessions gets a handful
of guesses instead of thousands, and a customer with a real voucher still gets through after a short wait.
Opening raises one alert line (`alert=voucher_guessing`) per window and a counter in /metrics.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from topup.domain import vouchers as rules
from topup.services import limits
from topup.settings import CONFIG

log = logging.getLogger(__name__)

FAILURES: Final = "voucher_breaker:fail"
ATTEMPTS: Final = "voucher_breaker:try"
SLOTS: Final = "voucher_breaker:slots"
ALERTED: Final = "voucher_breaker:alerted"
ALERTS_TOTAL: Final = "total:voucher_guessing_alerts"
SLOT_WINDOW_S: Final = 60


def _window_s() -> int:
    return max(120, CONFIG.voucher_breaker_window_s // 60 * 60)  # whole minutes, at least two


def counts(at: datetime) -> tuple[int, int]:
    """(unknown PINs, admitted attempts) in the window before `at`."""
    window = _window_s()
    return limits.ring_total(FAILURES, at, window), limits.ring_total(ATTEMPTS, at, window)


def is_open(at: datetime) -> bool:
    failures, attempts = counts(at)
    return rules.guessing_seen(
        failures,
        attempts,
        max_failures=CONFIG.voucher_breaker_failures,
        max_share=CONFIG.voucher_breaker_share,
    )


def admit(at: datetime) -> bool:
    """Count one attempt; while the breaker is open, only if a slot of this minute is left (call inside
    the transaction that claims the attempt, so that a refusal counts nothing)."""
    if is_open(at) and not limits.take([limits.Limit(SLOTS, CONFIG.voucher_breaker_rate, SLOT_WINDOW_S)], at):
        return False
    limits.count_in_ring(ATTEMPTS, at, _window_s())
    return True


def failed(at: datetime) -> None:
    """One more unknown PIN; the first time in a window that this opens the breaker, alert."""
    limits.count_in_ring(FAILURES, at, _window_s())
    if not is_open(at) or not limits.take([limits.Limit(ALERTED, 1, _window_s())], at):
        return
    limits.bump(ALERTS_TOTAL, at)
    failures, attempts = counts(at)
    log.error(
        "alert=voucher_guessing: %d unknown voucher PINs in %d attempts over %d s; every caller is now "
        "limited to %d redemption attempts a minute together",
        failures, attempts, _window_s(), CONFIG.voucher_breaker_rate,
        extra={"alert": "voucher_guessing", "outcome": "breaker_open"},
    )  # fmt: skip


def metrics(at: datetime) -> dict[str, int]:
    failures, _attempts = counts(at)
    return {
        "open": int(is_open(at)),
        "failures": failures,
        "alerts_total": limits.value(ALERTS_TOTAL),
    }
