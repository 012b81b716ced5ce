"""Shop housekeeping, run with the worker's sweeps: used terminal nonces are forgotten once their
timestamps would be refused anyway, and a PIN sale's PIN once its void window is over (reprints then show
only the serial; the voucher itself stays redeemable, by its owner who holds the printed PIN)."""

from __future__ import annotations

from datetime import timedelta

from topup.clock import now
from topup.db.models import Sale, TerminalNonce
from topup.domain.terminal_signing import MAX_SKEW_S


def prune_nonces() -> int:
    """Forget nonces older than twice the allowed clock skew; returns how many."""
    deleted, _ = TerminalNonce.objects.filter(seen_at__lt=now() - timedelta(seconds=2 * MAX_SKEW_S)).delete()
    return deleted


def forget_pins() -> int:
    """Erase the sealed PINs of sales past their void window; returns how many."""
    return Sale.objects.filter(pin_kept_until__lt=now()).update(pin="", pin_kept_until=None)


def sweep() -> tuple[int, int]:
    return prune_nonces(), forget_pins()
