"""The persistent ledger against a small independent model (roll-ups and orders' money in flight included),
and its no-overdraft rule under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Literal

import pytest
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from topup.clock import new_id, now
from topup.db import ledger
from topup.db.models import Account, Transfer
from topup.domain.errors import LedgerError
from topup.domain.ledger import AccountSpec, AccountType, Posting, booked_at, orders_in_flight
from topup.domain.money import Money

pytestmark = pytest.mark.django_db(transaction=True)

WALLET_A = AccountSpec("wallet:a:EUR", "Wallet A", AccountType.LIABILITY, "EUR", no_overdraft=True)
WALLET_B = AccountSpec("wallet:b:EUR", "Wallet B", AccountType.LIABILITY, "EUR", no_overdraft=True)
CLEARING = AccountSpec("clearing:x:EUR", "Clearing", AccountType.ASSET, "EUR", no_overdraft=False)
ACCOUNTS = [WALLET_A, WALLET_B, CLEARING]
IN_FLIGHT = orders_in_flight()
ORDERS = ["ord_a", "ord_b"]

RUN = new_id("tst")  # transfer ids start with one of our ids (their month: domain.ledger.booked_at)


def _reset() -> None:
    Transfer.objects.all().delete()
    Account.objects.all().delete()
    ledger._known_accounts.clear()


class LedgerMachine(RuleBasedStateMachine):
    """Model: per account posted (debits, credits) and held pending amounts; transfers by id."""

    pending = Bundle("pending")

    def __init__(self) -> None:
        super().__init__()
        _reset()
        self.posted = {a.id: [0, 0] for a in [*ACCOUNTS, IN_FLIGHT]}
        self.held = {a.id: [0, 0] for a in [*ACCOUNTS, IN_FLIGHT]}
        self.in_flight = dict.fromkeys(ORDERS, 0)
        self.transfers: dict[str, tuple[str, str, int, str]] = {}
        self.counter = 0

    def _fits(self, debit: AccountSpec, amount: int) -> bool:
        if not debit.no_overdraft:
            return True
        d, c = self.posted[debit.id]
        return c - d - self.held[debit.id][0] >= amount

    def _posting(self, debit: AccountSpec, credit: AccountSpec, amount: int) -> Posting:
        self.counter += 1
        return Posting(f"{RUN}:t{self.counter}", debit, credit, Money(amount, "EUR"), "test")

    @rule(debit=st.sampled_from(ACCOUNTS), credit=st.sampled_from(ACCOUNTS), amount=st.integers(1, 5000))
    def post(self, debit: AccountSpec, credit: AccountSpec, amount: int) -> None:
        if debit == credit:
            return
        posting = self._posting(debit, credit, amount)
        fits = self._fits(debit, amount)
        try:
            with transaction.atomic():
                ledger.post([posting], now=now())
        except LedgerError as error:
            assert not fits
            assert error.code == "insufficient_funds"
            return
        assert fits, "the ledger let a no-overdraft account go below zero"
        self.posted[debit.id][0] += amount
        self.posted[credit.id][1] += amount
        self.transfers[posting.transfer_id] = (debit.id, credit.id, amount, "posted")

    @rule(target=pending, amount=st.integers(1, 3000), debit=st.sampled_from(ACCOUNTS))
    def reserve(self, amount: int, debit: AccountSpec) -> str:
        credit = CLEARING if debit != CLEARING else WALLET_A
        posting = self._posting(debit, credit, amount)
        fits = self._fits(debit, amount)
        try:
            with transaction.atomic():
                ledger.reserve([posting], now=now())
        except LedgerError:
            assert not fits
            return "none"
        assert fits
        self.held[debit.id][0] += amount
        self.held[credit.id][1] += amount
        self.transfers[posting.transfer_id] = (debit.id, credit.id, amount, "pending")
        return posting.transfer_id

    @rule(transfer_id=pending, action=st.sampled_from(["post", "void"]))
    def resolve(self, transfer_id: str, action: Literal["post", "void"]) -> None:
        if transfer_id == "none":
            return
        debit, credit, amount, status = self.transfers[transfer_id]
        try:
            with transaction.atomic():
                ledger.resolve(transfer_id, action, now=now())
        except LedgerError as error:
            assert status != "pending"
            assert error.code == "transfer_already_resolved"
            return
        assert status == "pending", "a transfer resolved twice"
        self.held[debit][0] -= amount
        self.held[credit][1] -= amount
        if action == "post":
            self.posted[debit][0] += amount
            self.posted[credit][1] += amount
        self.transfers[transfer_id] = (debit, credit, amount, action + "ed")

    @rule(order_id=st.sampled_from(ORDERS), amount=st.integers(1, 3000), taking=st.booleans())
    def move_money_in_flight(self, order_id: str, amount: int, taking: bool) -> None:
        """An order's capture (into its money in flight) or its delivery/refund (out of it)."""
        self.counter += 1
        debit, credit = (IN_FLIGHT, CLEARING) if taking else (CLEARING, IN_FLIGHT)
        posting = Posting(
            f"{RUN}:t{self.counter}", debit, credit, Money(amount, "EUR"), "test", hold=order_id
        )
        fits = not taking or self.in_flight[order_id] >= amount
        try:
            with transaction.atomic():
                ledger.post([posting], now=now(), order_id=order_id)
        except LedgerError as error:
            assert not fits
            assert error.code == "insufficient_funds"
            return
        assert fits, "the ledger let an order's money in flight go below zero"
        self.in_flight[order_id] += -amount if taking else amount
        self.posted[debit.id][0] += amount
        self.posted[credit.id][1] += amount

    @rule(amounts=st.tuples(st.integers(1, 3000), st.integers(1, 3000)))
    def deliver_both_orders_at_once(self, amounts: tuple[int, int]) -> None:
        """A delivery batch (`post_many`) takes out of both orders' money in flight: all or nothing."""
        by_order = []
        for order_id, amount in zip(ORDERS, amounts, strict=True):
            self.counter += 1
            posting = Posting(
                f"{RUN}:t{self.counter}", IN_FLIGHT, CLEARING, Money(amount, "EUR"), "test", hold=order_id
            )
            by_order.append((order_id, [posting]))
        fits = all(self.in_flight[o] >= amount for o, amount in zip(ORDERS, amounts, strict=True))
        try:
            with transaction.atomic():
                ledger.post_many(by_order, now=now())
        except LedgerError as error:
            assert not fits
            assert error.code == "insufficient_funds"
            return
        assert fits, "a batch let an order's money in flight go below zero"
        for order_id, amount in zip(ORDERS, amounts, strict=True):
            self.in_flight[order_id] -= amount
            self.posted[IN_FLIGHT.id][0] += amount
            self.posted[CLEARING.id][1] += amount

    @rule(batch=st.integers(1, 4))
    def roll_up(self, batch: int) -> None:
        ledger.roll_up(batch=batch, rounds=1)

    @rule()
    def replay_a_transfer_id(self) -> None:
        if not self.transfers:
            return
        transfer_id = next(iter(self.transfers))
        posting = Posting(transfer_id, CLEARING, WALLET_A, Money(1, "EUR"), "replay")
        with pytest.raises(LedgerError) as caught, transaction.atomic():
            ledger.post([posting], now=now())
        assert caught.value.code == "duplicate_transfer"

    @invariant()
    def matches_the_model(self) -> None:
        for account in ledger.account_totals():
            assert [account.debits_posted, account.credits_posted] == self.posted[account.id]
            assert [account.debits_pending, account.credits_pending] == self.held[account.id]
        for total in ledger.trial_balance():
            assert total.balanced
        for order_id, held in self.in_flight.items():
            assert ledger.in_flight(order_id) == held

    @invariant()
    def wallets_never_below_zero(self) -> None:
        for account in Account.objects.filter(no_overdraft=True):
            assert account.credits_posted - account.debits_posted - account.debits_pending >= 0


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
)


def test_concurrent_spending_never_overdraws() -> None:
    _reset()
    with transaction.atomic():
        ledger.post([Posting(f"{RUN}:fund", CLEARING, WALLET_A, Money(100_00, "EUR"), "fund")], now=now())

    def spend(i: int) -> bool:
        try:
            with transaction.atomic():
                ledger.post(
                    [Posting(f"{RUN}:spend{i}", WALLET_A, WALLET_B, Money(10_00, "EUR"), "spend")], now=now()
                )
            return True
        except LedgerError:
            return False
        finally:
            close_old_connections()
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(spend, range(25)))
    assert sum(results) == 10
    assert ledger.balance_of(WALLET_A.id) == 0
    assert ledger.balance_of(WALLET_B.id) == 100_00
    assert all(t.balanced for t in ledger.trial_balance())


def test_a_transfer_id_without_a_time_of_ours_is_refused_loudly() -> None:
    """The ledger's month is the time of the id's first part: an id without one is refused, never given
    a month of its own."""
    _reset()
    for transfer_id in ("t1", "ord_1:capture", "x:" + RUN, "ORD_" + RUN[4:] + ":capture"):
        with pytest.raises(LedgerError) as refused, transaction.atomic():
            ledger.post([Posting(transfer_id, CLEARING, WALLET_A, Money(1, "EUR"), "t")], now=now())
        assert refused.value.code == "invalid_transfer_id"
    assert not Transfer.objects.exists()


def test_a_retried_posting_lands_in_the_same_month_and_posts_once() -> None:
    """A retry of a posting months later has the same id, hence the same booked_at: refused as a duplicate."""
    _reset()
    posting = Posting(f"{RUN}:once", CLEARING, WALLET_A, Money(5, "EUR"), "t")
    with transaction.atomic():
        ledger.post([posting], now=now())
    with pytest.raises(LedgerError) as refused, transaction.atomic():
        ledger.post([posting], now=now() + timedelta(days=95))
    assert refused.value.code == "duplicate_transfer"
    [row] = Transfer.objects.all()
    assert row.booked_at == booked_at(RUN + ":once") < row.created_at + timedelta(seconds=1)
    assert ledger.balance_of(WALLET_A.id) == 5
