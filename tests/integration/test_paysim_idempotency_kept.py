"""The payment simulator's idempotency keys in its state file keep Stripe's 24-hour window across restarts:
a key younger than a day is loaded back, an older one is not, and the file forgets it."""

from __future__ import annotations

from pathlib import Path

from topup.simulators.payments.idempotency import IdempotencyStore
from topup.simulators.payments.store import BookStore

DAY_S = 24 * 3600.0


def test_kept_keys_replay_for_a_day_then_are_forgotten(tmp_path: Path) -> None:
    now = [1_000_000.0]
    book = BookStore(tmp_path / "payments.sqlite3")
    first = IdempotencyStore(clock=lambda: now[0], keeping=book)
    assert first.begin("old", "POST /v1/payment_intents", {"amount": "1"}) is None
    first.finish("old", "POST /v1/payment_intents", {"amount": "1"}, 200, b'{"id":"pi_old"}')
    now[0] += DAY_S - 60
    assert first.begin("young", "POST /v1/refunds", {"amount": "2"}) is None
    first.finish("young", "POST /v1/refunds", {"amount": "2"}, 402, b'{"error":{}}')

    now[0] += 120  # "old" is a day and a minute old at the restart
    again = IdempotencyStore(clock=lambda: now[0], keeping=book)
    replayed = again.begin("young", "POST /v1/refunds", {"amount": "2"})
    assert replayed is not None
    assert (replayed.status, replayed.body) == (402, b'{"error":{}}')
    assert again.begin("old", "POST /v1/payment_intents", {"amount": "1"}) is None  # a new request now
    again.finish("old", "POST /v1/payment_intents", {"amount": "1"}, 200, b'{"id":"pi_new"}')
    now[0] += DAY_S + 1
    assert again.begin("next", "POST /v1/refunds", {}) is None
    again.finish("next", "POST /v1/refunds", {}, 200, b"{}")
    assert [key for key, _answer in book.answers()] == ["next"]
    book.close()
