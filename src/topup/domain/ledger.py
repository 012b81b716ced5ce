"""Ledger rules: typed accounts, postings (one amount from a debit to a credit account), an order's postings.

An order's money moves: capture (provider clearing -> orders in flight), delivery (orders in flight ->
carrier payable, VAT payable, commission revenue) or refund (orders in flight -> provider clearing).
Orders in flight is one account whose every posting names the order it holds money for (`Posting.hold`):
an order's money in flight is the sum of its postings there, and must never go below zero.

Accounts that may go negative or only ever grow are append-only (`appends_only`): a posting does not
change their totals; a periodic roll-up folds posted transfers into them. Only no-overdraft accounts
change their totals at each posting, where the conditional update is what keeps them at or above zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

from topup.domain.errors import LedgerError
from topup.domain.ids import parse_id
from topup.domain.money import Money, split_vat
from topup.domain.quotes import Quote

Side = Literal["debit", "credit"]

_ACCOUNT_KEY = re.compile(r"[a-z0-9][a-z0-9_.\-]*")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# `[<prefix>_…]<prefix>_<ULID>[:<anything>]`: the ULID is the first part's, so its time is the id's.
_TRANSFER_ID = re.compile(r"(?:[a-z]{2,8}_)*([a-z]{2,8}_[0-7][0-9A-HJKMNP-TV-Z]{25})(?::.*)?", re.DOTALL)


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    REVENUE = "revenue"
    EXPENSE = "expense"
    EQUITY = "equity"


def normal_side(account_type: AccountType) -> Side:
    """The side that increases an account's balance: debit for assets and expenses, credit otherwise."""
    return "debit" if account_type in (AccountType.ASSET, AccountType.EXPENSE) else "credit"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    id: str
    name: str
    type: AccountType
    currency: str
    no_overdraft: bool
    # True for the one account whose postings each name an order (`Posting.hold`): orders in flight.
    per_order: bool = False


def appends_only(no_overdraft: bool) -> bool:
    """Whether an account's totals wait for the roll-up (no UPDATE of its row per posting): every account
    that may go negative does; a no-overdraft account is checked and moved by the posting itself."""
    return not no_overdraft


def normal_balance(spec: AccountSpec, debits: int, credits: int) -> int:
    """The balance on the account's normal side (positive when it holds what its type says)."""
    return debits - credits if normal_side(spec.type) == "debit" else credits - debits


def would_overdraw(spec: AccountSpec, debits: int, credits: int) -> bool:
    """True when totals `debits`/`credits` would take a no-overdraft account's normal balance below zero."""
    return spec.no_overdraft and normal_balance(spec, debits, credits) < 0


def _key(value: str, what: str) -> str:
    if not _ACCOUNT_KEY.fullmatch(value):
        raise LedgerError(f"invalid {what} {value!r} in an account id", code="invalid_account")
    return value


def provider_clearing(provider: str, currency: str = "EUR") -> AccountSpec:
    """Money a payment provider holds for us until it pays out (an asset; a refund may run ahead of it)."""
    return AccountSpec(
        id=f"provider_clearing:{_key(provider, 'provider')}:{currency}",
        name=f"Provider clearing {provider}",
        type=AccountType.ASSET,
        currency=currency,
        no_overdraft=False,
    )


def orders_in_flight(currency: str = "EUR") -> AccountSpec:
    """Paid money until its order is delivered or refunded. Each posting names its order (`hold`); per
    order the sum never goes below zero and is zero once settled (the account itself is append-only,
    so that concurrent orders never wait on one row, and there is no account row per order)."""
    return AccountSpec(
        f"orders_in_flight:{currency}",
        "Orders in flight",
        AccountType.LIABILITY,
        currency,
        no_overdraft=False,
        per_order=True,
    )


def carrier_payable(network_id: str, currency: str = "EUR") -> AccountSpec:
    """What we owe a network for delivered top-ups (may go negative when the carrier is prepaid)."""
    return AccountSpec(
        id=f"carrier_payable:{_key(network_id, 'network')}:{currency}",
        name=f"Carrier payable {network_id}",
        type=AccountType.LIABILITY,
        currency=currency,
        no_overdraft=False,
    )


def vat_payable(currency: str = "EUR") -> AccountSpec:
    return AccountSpec(f"vat_payable:{currency}", "VAT payable", AccountType.LIABILITY, currency, False)


def commission_revenue(currency: str = "EUR") -> AccountSpec:
    return AccountSpec(
        f"commission_revenue:{currency}", "Commission revenue", AccountType.REVENUE, currency, False
    )


def promotion_expense(currency: str = "EUR") -> AccountSpec:
    return AccountSpec(
        f"promotion_expense:{currency}", "Promotion expense", AccountType.EXPENSE, currency, False
    )


def line_credit(line_id: str, currency: str = "EUR") -> AccountSpec:
    """A hosted line's credit: a liability to the customer that never goes below zero."""
    return AccountSpec(
        f"line_credit:{_key(line_id, 'line')}:{currency}",
        f"Line credit {line_id}",
        AccountType.LIABILITY,
        currency,
        no_overdraft=True,
    )


@dataclass(frozen=True, slots=True)
class Posting:
    transfer_id: str
    debit: AccountSpec
    credit: AccountSpec
    amount: Money
    code: str
    # Facts kept with the transfer (text pairs, so a posting stays hashable): the FX of a capture.
    metadata: tuple[tuple[str, str], ...] = ()
    # The order whose money in flight this posting moves: set exactly when a side is orders in flight.
    hold: str = ""

    def __post_init__(self) -> None:
        if not self.transfer_id or not self.code:
            raise LedgerError("a posting needs a transfer id and a code", code="invalid_posting")
        if not self.amount.is_positive():
            raise LedgerError(f"posting {self.transfer_id}: amount must be positive", code="invalid_posting")
        if self.amount.currency != self.debit.currency or self.amount.currency != self.credit.currency:
            raise LedgerError(f"posting {self.transfer_id}: currency mismatch", code="invalid_posting")
        if self.debit.id == self.credit.id:
            raise LedgerError(
                f"posting {self.transfer_id}: same account on both sides", code="invalid_posting"
            )
        if bool(self.hold) != (self.debit.per_order or self.credit.per_order):
            raise LedgerError(
                f"posting {self.transfer_id}: an order is named exactly when money in flight moves",
                code="invalid_posting",
            )


def booked_at(transfer_id: str) -> datetime:
    """When a transfer is booked: the time of the ULID that starts its id (`ord_<ULID>:capture` and
    `rfd_ord_<ULID>:paid_back` → that order's creation). The ledger is partitioned by month of it, so a
    retried posting, having the same id, lands in the same month and its (id, booked_at) key refuses it as
    the id alone would. An id that does not start with one of our ids (maybe behind more prefixes) raises
    LedgerError `invalid_transfer_id`: it has no month of its own, and none is made up for it."""
    match = _TRANSFER_ID.fullmatch(transfer_id)
    if match is None:
        raise LedgerError(
            f"transfer id {transfer_id!r} does not start with a time-ordered id", code="invalid_transfer_id"
        )
    return _EPOCH + timedelta(milliseconds=parse_id(match.group(1)).unix_ms)


def holds_taken(postings: Iterable[Posting]) -> dict[str, int]:
    """Per order: what the postings take out of its money in flight, net (only orders they take from);
    these are the orders whose money in flight must be checked not to go below zero."""
    net: dict[str, int] = {}
    for posting in postings:
        if posting.debit.per_order:
            net[posting.hold] = net.get(posting.hold, 0) + posting.amount.amount_minor
        elif posting.credit.per_order:
            net[posting.hold] = net.get(posting.hold, 0) - posting.amount.amount_minor
    return {order_id: amount for order_id, amount in net.items() if amount > 0}


def totals(postings: Iterable[Posting]) -> dict[str, tuple[int, int]]:
    """Per account id: (sum of debits, sum of credits) in minor units."""
    result: dict[str, tuple[int, int]] = {}
    for posting in postings:
        debits, credits = result.get(posting.debit.id, (0, 0))
        result[posting.debit.id] = (debits + posting.amount.amount_minor, credits)
        debits, credits = result.get(posting.credit.id, (0, 0))
        result[posting.credit.id] = (debits, credits + posting.amount.amount_minor)
    return result


def payment_captured(order_id: str, provider: str, quote: Quote) -> list[Posting]:
    """The customer's payment arrives at the provider and is held for the order, in EUR; a payer shown
    yuan has the quote's FX recorded on the capture (what was shown or charged, at which rate)."""
    if not quote.total.is_positive():
        return []
    return [
        Posting(
            transfer_id=f"{order_id}:capture",
            debit=provider_clearing(provider, quote.currency),
            credit=orders_in_flight(quote.currency),
            amount=quote.total,
            code="payment_captured",
            metadata=fx_metadata(quote),
            hold=order_id,
        )
    ]


def fx_metadata(quote: Quote) -> tuple[tuple[str, str], ...]:
    """The frozen FX of an order as the ledger keeps it beside the EUR capture; empty without FX."""
    fx = quote.fx
    if fx is None:
        return ()
    return (
        ("fx_source", fx.source),
        ("fx_rate", str(fx.rate)),
        ("fx_rate_date", fx.rate_date.isoformat()),
        ("fx_markup_bp", str(fx.markup_bp)),
        ("fx_amount_minor", str(fx.amount.amount_minor)),
        ("fx_currency", fx.amount.currency),
        ("fx_charge_currency", fx.charge_currency),
    )


def delivery_confirmed(order_id: str, quote: Quote) -> list[Posting]:
    """The carrier delivered: the held money is split into carrier share, VAT and our commission.

    A discounted order first receives the discount's net from promotion expense, so that the carrier
    still gets its share of the full price and the commission revenue stays the full price's; VAT is
    owed on what the customer paid only."""
    in_flight = orders_in_flight(quote.currency)
    expense = Money(_promotion_expense_minor(quote), quote.currency)
    legs = (
        ("carrier", carrier_payable(quote.network_id, quote.currency), quote.carrier_amount),
        ("vat", vat_payable(quote.currency), quote.vat),
        ("commission", commission_revenue(quote.currency), quote.commission + expense),
    )
    postings = [
        Posting(f"{order_id}:deliver:promotion", promotion_expense(quote.currency), in_flight, expense,
                "delivery_promotion", hold=order_id)
    ] if expense.is_positive() else []  # fmt: skip
    postings += [
        Posting(f"{order_id}:deliver:{leg}", in_flight, account, amount, f"delivery_{leg}", hold=order_id)
        for leg, account, amount in legs
        if amount.amount_minor != 0
    ]
    moved = sum(p.amount.amount_minor for p in postings if p.debit == in_flight) - expense.amount_minor
    if moved != quote.total.amount_minor:
        raise LedgerError(
            f"order {order_id}: delivery moves {moved}, the order holds {quote.total.amount_minor}",
            code="unbalanced_delivery",
        )
    return postings


def _promotion_expense_minor(quote: Quote) -> int:
    """The net (VAT excluded) part of the discount that we fund: the full price's net minus the paid net."""
    if not quote.discount.is_positive():
        return 0
    return split_vat(quote.price, quote.vat_rate_bp).net.amount_minor - quote.net.amount_minor


def promotion_bonus(order_id: str, line_id: str, bonus: Money) -> list[Posting]:
    """Bonus credit on a hosted line: our promotion expense, owed to the line's holder from now on."""
    if not bonus.is_positive():
        return []
    return [
        Posting(f"{order_id}:bonus_credit", promotion_expense(bonus.currency), line_credit(line_id,
                bonus.currency), bonus, "promotion_bonus_credit")
    ]  # fmt: skip


def delivery_reversed(order_id: str, quote: Quote) -> list[Posting]:
    """Undo a delivery (an eSIM cancelled before use): each leg goes back to the order in flight."""
    return [
        Posting(
            p.transfer_id.replace(":deliver:", ":undeliver:"),
            p.credit,
            p.debit,
            p.amount,
            f"reversal_{p.code}",
            hold=p.hold,
        )
        for p in delivery_confirmed(order_id, quote)
    ]


def refund_issued(order_id: str, provider: str, quote: Quote, code: str = "refund_issued") -> list[Posting]:
    """The held money goes back to the customer through the provider (`code` manual_payout: paid back by
    staff another way, after the provider could not refund it; the provider balance kept the money)."""
    if not quote.total.is_positive():
        return []
    return [
        Posting(
            transfer_id=f"{order_id}:refund",
            debit=orders_in_flight(quote.currency),
            credit=provider_clearing(provider, quote.currency),
            amount=quote.total,
            code=code,
            hold=order_id,
        )
    ]


def stray_payment_captured(order_id: str, payment_id: str, provider: str, amount: Money) -> list[Posting]:
    """A payment attempt that succeeded although the order was paid by another attempt or had ended: its
    money is held on the order until it is refunded (its own transfer ids, never the order's)."""
    return [
        Posting(
            f"{payment_id}:capture",
            provider_clearing(provider, amount.currency),
            orders_in_flight(amount.currency),
            amount,
            "stray_payment_captured",
            hold=order_id,
        )
    ]


def stray_payment_refunded(
    order_id: str, payment_id: str, provider: str, amount: Money, code: str = "stray_payment_refunded"
) -> list[Posting]:
    return [
        Posting(
            f"{payment_id}:refund",
            orders_in_flight(amount.currency),
            provider_clearing(provider, amount.currency),
            amount,
            code,
            hold=order_id,
        )
    ]


def retailer_float(retailer_id: str, currency: str = "EUR") -> AccountSpec:
    """A retailer's prepaid money with us (a liability to them); it may go below zero down to their credit
    limit, which the retailer row's conditional update guards (the ledger only records)."""
    return AccountSpec(
        f"retailer_float:{_key(retailer_id.lower(), 'retailer')}:{currency}",
        f"Retailer float {retailer_id}",
        AccountType.LIABILITY,
        currency,
        no_overdraft=False,
    )


def retail_commission_expense(currency: str = "EUR") -> AccountSpec:
    """The commission we pay shops on their sales: credited to their float at each sale."""
    return AccountSpec(
        f"retail_commission_expense:{currency}", "Retail commission", AccountType.EXPENSE, currency, False
    )


def bank_clearing(currency: str = "EUR") -> AccountSpec:
    """Our bank account as the float top-ups arrive on it (retailers pay their float by transfer)."""
    return AccountSpec(f"bank_clearing:{currency}", "Bank clearing", AccountType.ASSET, currency, False)


def retail_sale(
    sale_id: str, retailer_id: str, clearing: str, price: Money, commission: Money
) -> list[Posting]:
    """A shop's sale: its float pays the price into the clearing that holds the sale's money (`retail` for a
    direct top-up, whose order captured from it; `voucher` for a PIN, redeemed from it later), and we
    credit the shop's commission to its float."""
    floating = retailer_float(retailer_id, price.currency)
    legs = [
        Posting(
            f"{sale_id}:float", floating, provider_clearing(clearing, price.currency), price, "retail_sale"
        )
    ]
    if commission.is_positive():
        expense = retail_commission_expense(price.currency)
        legs.append(Posting(f"{sale_id}:commission", expense, floating, commission, "retail_commission"))
    return legs


def retail_sale_reversed(
    sale_id: str, retailer_id: str, clearing: str, price: Money, commission: Money, *, code: str
) -> list[Posting]:
    """A sale voided or refunded (`code`): the price back on the float, the commission taken back."""
    return [
        Posting(p.transfer_id.replace(f"{sale_id}:", f"{sale_id}:{code}:"), p.credit, p.debit, p.amount, code)
        for p in retail_sale(sale_id, retailer_id, clearing, price, commission)
    ]


def float_topped_up(topup_id: str, retailer_id: str, amount: Money) -> list[Posting]:
    """A retailer's bank transfer arrived: our bank holds it, the retailer's float owes it to them."""
    return [
        Posting(
            f"{topup_id}:float", bank_clearing(amount.currency), retailer_float(retailer_id, amount.currency),
            amount, "float_topped_up",
        )
    ]  # fmt: skip


class TransferStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


def resolve_pending(status: TransferStatus, action: str) -> TransferStatus:
    """The status after "post" or "void" of a pending transfer; a transfer resolves exactly once."""
    if status != TransferStatus.PENDING:
        raise LedgerError(f"transfer is already {status}", code="transfer_already_resolved")
    if action == "post":
        return TransferStatus.POSTED
    if action == "void":
        return TransferStatus.VOIDED
    raise LedgerError(f"unknown transfer action {action!r}", code="invalid_transfer_action")
