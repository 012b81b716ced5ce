"""A terminal's cash session: open it, read its X report, close it with a Z (counted cash), in one place.

X and Z come from one function (domain/shifts.shift_report) over the shift's movements; the Z is computed,
frozen and the shift closed in one transaction, under the shift's row lock that every sale takes too.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from topup.clock import new_id, now
from topup.db.models import Shift, ShiftMovement, Terminal
from topup.domain import shifts as rules
from topup.domain.errors import InvalidInput
from topup.domain.retail import positive_amount
from topup.domain.shifts import Movement, MovementKind, ShiftReport
from topup.services.retail import lock_open_shift


def open_shift(terminal: Terminal, *, opened_by: str, opening_float_minor: int | None = None) -> Shift:
    """Open the terminal's shift; the opening float defaults to the previous Z's counted cash. Movements
    that came while no shift was open (a refund after the close) are taken into this one."""
    previous = Shift.objects.filter(terminal=terminal, closed_at__isnull=False).order_by("-closed_at").first()
    carried = None if previous is None else previous.counted_cash_minor
    opening = opening_float_minor if opening_float_minor is not None else (carried or 0)
    rules.check_opening(opening)
    try:
        with transaction.atomic():
            shift = Shift.objects.create(
                id=new_id("shf"), terminal=terminal, opened_at=now(),
                opened_by=opened_by[:80] or terminal.label, opening_float_minor=opening,
                carried_minor=carried,
            )  # fmt: skip
            ShiftMovement.objects.filter(terminal=terminal, shift__isnull=True).update(shift=shift)
    except IntegrityError:
        raise rules.already_open() from None
    return shift


def current(terminal: Terminal) -> Shift:
    shift = Shift.objects.filter(terminal=terminal, closed_at__isnull=True).first()
    if shift is None:
        raise rules.not_open()
    return shift


def report(shift: Shift, *, counted_cash_minor: int | None = None, reason: str = "") -> ShiftReport:
    """The shift's report from its movements: X without counted cash, the Z with it."""
    movements = [
        Movement(MovementKind(m.kind), m.tender, m.amount_minor, m.cash_given_minor, m.change_minor)
        for m in ShiftMovement.objects.filter(shift=shift).order_by("id")
    ]
    return rules.shift_report(
        shift.terminal.retailer.currency, shift.opening_float_minor, movements,
        carried_minor=shift.carried_minor, counted_cash_minor=counted_cash_minor, variance_reason=reason,
    )  # fmt: skip


def x_report(terminal: Terminal) -> dict[str, object]:
    shift = current(terminal)
    return _document(shift, report(shift))


def close(terminal: Terminal, *, counted_cash_minor: int, reason: str = "") -> dict[str, object]:
    """The Z: computed, frozen and the shift closed in one transaction; a closed shift never changes."""
    with transaction.atomic():
        shift = Shift.objects.select_for_update().filter(terminal=terminal, closed_at__isnull=True).first()
        if shift is None:
            raise rules.not_open()
        z = report(shift, counted_cash_minor=counted_cash_minor, reason=reason)
        at = now()
        document = _document(shift, z, closed_at=at.isoformat())
        closed = Shift.objects.filter(id=shift.id, closed_at__isnull=True).update(
            closed_at=at, counted_cash_minor=counted_cash_minor, variance_minor=z.variance_minor,
            variance_reason=z.variance_reason[:200], z_report=document,
        )  # fmt: skip
        if closed != 1:
            raise rules.closed()
    return document


def pay_in_or_out(terminal: Terminal, kind: MovementKind, amount_minor: int, note: str) -> dict[str, object]:
    """Cash put into the drawer (change from the bank, a debt collected) or taken out (to the safe)."""
    if kind not in {MovementKind.PAID_IN, MovementKind.PAID_OUT}:
        raise InvalidInput("paid_in or paid_out", code="invalid_cash_movement", field="kind")
    positive_amount(amount_minor, "amount_minor")
    with transaction.atomic():
        shift = lock_open_shift(terminal.id)
        ShiftMovement.objects.create(
            terminal=terminal, shift=shift, kind=kind.value, tender="cash", amount_minor=amount_minor,
            note=note.strip()[:200], at=now(),
        )  # fmt: skip
    return x_report(terminal)


def _document(shift: Shift, shift_report: ShiftReport, closed_at: str | None = None) -> dict[str, object]:
    return {
        "shift_id": shift.id, "terminal_id": shift.terminal_id, "opened_at": shift.opened_at.isoformat(),
        "opened_by": shift.opened_by, "closed_at": closed_at, "report": shift_report.to_dict(),
    }  # fmt: skip


def frozen_z(shift_id: str) -> dict[str, object] | None:
    """A closed shift's Z exactly as it was frozen (None while the shift is open)."""
    shift = Shift.objects.filter(id=shift_id).first()
    if shift is None or shift.z_report is None:
        return None
    z: dict[str, object] = shift.z_report
    return z
