"""The simulated Checkout Session's life, on the book alone: it lapses at its `expires_at`, as Stripe's do."""

from __future__ import annotations

from collections.abc import Callable

from topup.simulators.payments.faults import Faults
from topup.simulators.payments.records import Session
from topup.simulators.payments.state import PaymentBook

NOW = 1_800_000_000


def test_an_open_session_expires_at_its_expires_at_and_a_paid_one_does_not() -> None:
    emitted: list[str] = []
    timers: list[tuple[float, Callable[[], None]]] = []
    book = PaymentBook(
        "http://sim", lambda kind, _obj, _key: emitted.append(kind), lambda s, f: timers.append((s, f)),
        Faults(), clock=lambda: NOW,
    )  # fmt: skip

    def session(payment_id: str) -> Session:
        return book.create_session(
            1000, "eur", "Top-up", {"payment_id": payment_id}, {"metadata": {"payment_id": payment_id}},
            ("https://t.example/ok", None), "ord_1", NOW + 1800,
        )  # fmt: skip

    lapsing, paid = session("pay_a"), session("pay_b")
    assert [delay for delay, _ in timers] == [1800, 1800]
    book.pay_session(book.require_session(paid.id), "4242424242424242")
    for _, fire in timers:
        fire()
    assert book.require_session(lapsing.id).status == "expired"
    assert book.require_session(paid.id).status == "complete"
    assert emitted == ["payment_intent.succeeded", "checkout.session.completed", "checkout.session.expired"]
