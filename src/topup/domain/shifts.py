"""A terminal's cash session: the one function that computes the X report (mid-shift) and the Z (close).

Expected cash = opening float + cash received - change given - cash given back (voids, refunds) + paid in
- paid out. Change given is never takings (the customer handed 20 for 15: 20 in, 5 out), cash refunds and
voids are counted, the opening float once. The variance (counted - expected) is kept as it is, with a
reason when it is not zero: a close is never forced to zero. The next shift starts from the counted cash.

Errors:
InvalidInput  invalid_amount            a negative counted cash or opening float
InvalidInput  variance_reason_required  a Z with a variance and no reason
Conflict      shift_not_open            a sale, X or Z with no open shift
Conflict      shift_already_open        opening a second shift on a terminal
Conflict      shift_closed              changing a closed shift (its Z is frozen)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from topup.domain.errors import Conflict, InvalidInput


class MovementKind(StrEnum):
    SALE = "sale"
    VOID = "void"  # a sale cancelled: the customer got the money back the way they paid
    REFUND = "refund"  # a direct top-up not delivered: the shop hands the money back (return receipt)
    PAID_IN = "paid_in"
    PAID_OUT = "paid_out"


@dataclass(frozen=True, slots=True)
class Movement:
    """One thing that moved money at the terminal during the shift (amounts in minor units, positive)."""

    kind: MovementKind
    tender: str  # cash | card
    amount_minor: int  # the sale's price, or what was given back / paid in / paid out
    cash_given_minor: int = 0  # a cash sale: what the customer handed over (0: not counted, = price)
    change_minor: int = 0  # a cash sale: the change handed back


@dataclass(frozen=True, slots=True)
class ShiftReport:
    currency: str
    opening_float_minor: int
    carried_minor: int | None  # the previous Z's counted cash, None for a terminal's first shift
    sales_count: int
    cash_sales_minor: int
    card_sales_minor: int
    cash_received_minor: int
    change_given_minor: int
    voids_count: int
    cash_voids_minor: int
    card_voids_minor: int
    refunds_count: int
    cash_refunds_minor: int
    card_refunds_minor: int
    paid_in_minor: int
    paid_out_minor: int
    expected_cash_minor: int
    counted_cash_minor: int | None = None
    variance_minor: int | None = None
    variance_reason: str = ""

    @property
    def opening_difference_minor(self) -> int | None:
        """What was put in or taken out between the previous close and this opening (shown, counted once)."""
        return None if self.carried_minor is None else self.opening_float_minor - self.carried_minor

    def to_dict(self) -> dict[str, object]:
        fields = {name: getattr(self, name) for name in self.__slots__}
        return {**fields, "opening_difference_minor": self.opening_difference_minor}


def _sum(movements: Iterable[Movement], kind: MovementKind, tender: str) -> tuple[int, int]:
    chosen = [m for m in movements if m.kind is kind and m.tender == tender]
    return len(chosen), sum(m.amount_minor for m in chosen)


def shift_report(
    currency: str,
    opening_float_minor: int,
    movements: Iterable[Movement],
    *,
    carried_minor: int | None = None,
    counted_cash_minor: int | None = None,
    variance_reason: str = "",
) -> ShiftReport:
    """The X report (no counted cash) or the Z (with it): the same numbers from the same movements."""
    moves = list(movements)
    cash_sales = [m for m in moves if m.kind is MovementKind.SALE and m.tender == "cash"]
    received = sum(m.cash_given_minor or m.amount_minor for m in cash_sales)
    change = sum(m.change_minor for m in cash_sales)
    cash_sale_count, cash_sales_minor = _sum(moves, MovementKind.SALE, "cash")
    card_sale_count, card_sales_minor = _sum(moves, MovementKind.SALE, "card")
    cash_void_count, cash_voids = _sum(moves, MovementKind.VOID, "cash")
    card_void_count, card_voids = _sum(moves, MovementKind.VOID, "card")
    cash_refund_count, cash_refunds = _sum(moves, MovementKind.REFUND, "cash")
    card_refund_count, card_refunds = _sum(moves, MovementKind.REFUND, "card")
    paid_in = sum(m.amount_minor for m in moves if m.kind is MovementKind.PAID_IN)
    paid_out = sum(m.amount_minor for m in moves if m.kind is MovementKind.PAID_OUT)
    expected = opening_float_minor + received - change - cash_voids - cash_refunds + paid_in - paid_out
    variance = None if counted_cash_minor is None else counted_cash_minor - expected
    if counted_cash_minor is not None:
        check_close(counted_cash_minor, variance or 0, variance_reason)
    return ShiftReport(
        currency=currency, opening_float_minor=opening_float_minor, carried_minor=carried_minor,
        sales_count=cash_sale_count + card_sale_count, cash_sales_minor=cash_sales_minor,
        card_sales_minor=card_sales_minor, cash_received_minor=received, change_given_minor=change,
        voids_count=cash_void_count + card_void_count, cash_voids_minor=cash_voids,
        card_voids_minor=card_voids, refunds_count=cash_refund_count + card_refund_count,
        cash_refunds_minor=cash_refunds, card_refunds_minor=card_refunds, paid_in_minor=paid_in,
        paid_out_minor=paid_out, expected_cash_minor=expected, counted_cash_minor=counted_cash_minor,
        variance_minor=variance, variance_reason=variance_reason.strip() if variance else "",
    )  # fmt: skip


def check_close(counted_cash_minor: int, variance_minor: int, reason: str) -> None:
    if counted_cash_minor < 0:
        raise InvalidInput(
            "counted cash cannot be negative", code="invalid_amount", field="counted_cash_minor"
        )
    if variance_minor and not reason.strip():
        raise InvalidInput(
            "the counted cash differs from the expected cash: say why", code="variance_reason_required",
            field="reason",
        )  # fmt: skip


def check_opening(opening_float_minor: int) -> None:
    if opening_float_minor < 0:
        raise InvalidInput(
            "an opening float cannot be negative", code="invalid_amount", field="opening_float_minor"
        )


def not_open() -> Conflict:
    return Conflict("the terminal has no open shift", code="shift_not_open", field="shift")


def already_open() -> Conflict:
    return Conflict("the terminal has an open shift already", code="shift_already_open", field="shift")


def closed() -> Conflict:
    return Conflict("the shift is closed and its Z cannot change", code="shift_closed", field="shift")
