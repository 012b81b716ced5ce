"""The ledger's hot rows: deliveries that do not wait on the shared accounts, an order's money in flight taken
once under concurrency, and the roll-up that folds append-only accounts' transfers without losing any."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from tests.support.race import at_once
from topup.clock import new_id, now
from topup.db import ledger
from topup.db.models import Transfer
from topup.domain.catalogue import Network, NetworkKind, Plan, PlanKind
from topup.domain.ledger import (
    Posting,
    delivery_confirmed,
    orders_in_flight,
    payment_captured,
    provider_clearing,
    refund_issued,
    vat_payable,
)
from topup.domain.money import Money
from topup.domain.quotes import Quote, make_quote

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRES_ONLY = "SQLite runs one writer at a time: no two transactions are open at once to race"

RUN = new_id("tst")  # transfer ids start with one of our ids (their month: domain.ledger.booked_at)
ORDERS = {
    name: new_id("ord") for name in ["warm", "hot1", "hot2", "race", "x", *(f"r{n}" for n in range(20))]
}


def _quote(cents: int = 1000) -> Quote:
    network = Network("proximus", "Proximus", NetworkKind.EXTERNAL, 500)
    plan = Plan("proximus-credit", "proximus", PlanKind.CREDIT, "credit", Money(cents, "EUR"))
    return make_quote(plan, network, "+32470123456", guessed_network=None)


def _capture(order_id: str, quote: Quote) -> None:
    with transaction.atomic():
        ledger.post(payment_captured(order_id, "stripe", quote), now=now(), order_id=order_id)


def _in_threads(*actions: Callable[[], None]) -> list[BaseException]:
    """Run each action in its own thread with its own connection; the errors they raised."""
    errors: list[BaseException] = []

    def run(action: Callable[[], None]) -> None:
        try:
            action()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_deliveries_do_not_wait_on_the_shared_accounts() -> None:
    """Two deliveries, each holding its transaction open until the other has posted too: had a posting
    locked the VAT, revenue or carrier row, the second would wait for the first, which waits for it at
    the barrier, and its lock_timeout would end it."""
    if connection.vendor != "postgresql":
        pytest.skip(ON_POSTGRES_ONLY)
    quote = _quote()
    for order_id in (ORDERS["warm"], ORDERS["hot1"], ORDERS["hot2"]):
        _capture(order_id, quote)
    with transaction.atomic():  # the shared accounts exist, as they do after a platform's first delivery
        ledger.post(delivery_confirmed(ORDERS["warm"], quote), now=now(), order_id=ORDERS["warm"])
    both_posted = threading.Barrier(2, timeout=30)

    def deliver(order_id: str) -> Callable[[], None]:
        def run() -> None:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '5s'")
                ledger.post(delivery_confirmed(order_id, quote), now=now(), order_id=order_id)
                both_posted.wait()  # both transactions are open here, each having posted to VAT

        return run

    assert _in_threads(deliver(ORDERS["hot1"]), deliver(ORDERS["hot2"])) == []
    assert ledger.balance_of(vat_payable().id) == 3 * quote.vat.amount_minor
    assert ledger.in_flight(ORDERS["hot1"]) == ledger.in_flight(ORDERS["hot2"]) == 0
    assert all(t.balanced for t in ledger.trial_balance())


def test_an_orders_money_in_flight_is_taken_once_by_a_delivery_and_a_refund_at_once() -> None:
    quote = _quote()
    _capture(ORDERS["race"], quote)
    legs = {
        "deliver": delivery_confirmed(ORDERS["race"], quote),
        "refund": refund_issued(ORDERS["race"], "stripe", quote),
    }

    def take(kind: str) -> str:
        with transaction.atomic():
            ledger.post(legs[kind], now=now(), order_id=ORDERS["race"])
        return kind

    outcomes = at_once(take, ["deliver", "refund"])
    assert sorted(outcomes) in (["deliver", "insufficient_funds"], ["insufficient_funds", "refund"])
    assert ledger.in_flight(ORDERS["race"]) == 0
    assert all(t.balanced for t in ledger.trial_balance())


def test_a_roll_up_keeps_every_balance_and_clears_the_flags() -> None:
    quote = _quote()
    for number in range(7):
        _capture(ORDERS[f"r{number}"], quote)
        if number % 2:
            with transaction.atomic():
                ledger.post(
                    delivery_confirmed(ORDERS[f"r{number}"], quote), now=now(), order_id=ORDERS[f"r{number}"]
                )
    before = ledger.account_totals()
    assert Transfer.objects.filter(rollup_pending=True).count() == 7 + 3 * 3
    assert ledger.roll_up(batch=4) == 7 + 3 * 3  # several rounds of 4
    assert ledger.account_totals() == before
    assert not Transfer.objects.filter(rollup_pending=True).exists()
    assert ledger.in_flight(ORDERS["r0"]) == quote.total.amount_minor
    assert ledger.roll_up() == 0


def _model_totals(postings: list[Posting]) -> dict[str, tuple[int, int]]:
    """An independent oracle: per account, the posted debits and credits of every posting."""
    found: dict[str, tuple[int, int]] = {}
    for posting in postings:
        d, c = found.get(posting.debit.id, (0, 0))
        found[posting.debit.id] = (d + posting.amount.amount_minor, c)
        d, c = found.get(posting.credit.id, (0, 0))
        found[posting.credit.id] = (d, c + posting.amount.amount_minor)
    return found


def test_postings_and_roll_ups_at_the_same_time_lose_nothing() -> None:
    """Postings commit one by one while two roll-ups run again and again: once all is done and folded,
    each account's totals are exactly the sum of what was posted to it."""
    postings: list[Posting] = []
    clearing, in_flight = provider_clearing("stripe"), orders_in_flight()
    done = threading.Event()

    def post_many() -> None:
        try:
            for number in range(60):
                posting = Posting(
                    f"{RUN}:t{number}", clearing, in_flight, Money(100 + number, "EUR"), "t", hold=ORDERS["x"]
                )
                with transaction.atomic():
                    ledger.post([posting], now=now(), order_id=ORDERS["x"])
                postings.append(posting)
        finally:
            done.set()

    def roll_up_until_done() -> None:
        while not done.is_set():
            ledger.roll_up(batch=7, rounds=2)

    assert _in_threads(post_many, roll_up_until_done, roll_up_until_done) == []
    ledger.roll_up()
    expected = _model_totals(postings)
    found = {a.id: (a.debits_posted, a.credits_posted) for a in ledger.account_totals()}
    assert found == expected
    assert ledger.in_flight(ORDERS["x"]) == sum(p.amount.amount_minor for p in postings)
    assert not Transfer.objects.filter(rollup_pending=True).exists()
    assert all(t.balanced for t in ledger.trial_balance())


def test_a_transfer_committed_after_a_roll_up_began_is_folded_by_the_next() -> None:
    """A posting whose transaction is still open while a roll-up runs (on PostgreSQL transactions commit out
    of id order) is neither lost nor folded twice: the roll-up claims flags, it does not keep a watermark."""
    if connection.vendor != "postgresql":
        pytest.skip(ON_POSTGRES_ONLY)
    clearing, vat = provider_clearing("stripe"), vat_payable()
    with transaction.atomic():  # the accounts exist before: creating one would make the postings wait
        ledger.post([Posting(f"{RUN}:warm_up", clearing, vat, Money(30, "EUR"), "t")], now=now())
    assert ledger.roll_up() == 1
    posted, release = threading.Event(), threading.Event()

    def slow_posting() -> None:
        with transaction.atomic():
            ledger.post([Posting(f"{RUN}:a_early_id", clearing, vat, Money(500, "EUR"), "t")], now=now())
            posted.set()
            assert release.wait(30)

    thread = threading.Thread(target=lambda: _in_threads(slow_posting))
    thread.start()
    assert posted.wait(30)
    with transaction.atomic():
        ledger.post([Posting(f"{RUN}:z_late_id", clearing, vat, Money(70, "EUR"), "t")], now=now())
    assert ledger.roll_up() == 1  # the committed one; the open one is not seen
    assert ledger.balance_of(vat.id) == 100
    release.set()
    thread.join()
    assert ledger.balance_of(vat.id) == 600
    assert ledger.roll_up() == 1
    assert ledger.balance_of(vat.id) == 600
    assert ledger.account_totals(vat.id)[0].credits_posted == 600
    assert all(t.balanced for t in ledger.trial_balance())
